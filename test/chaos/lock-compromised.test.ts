// A sidecar paused past its lock's stale window can lose the file to a new
// owner. When it wakes up it must notice, stop acknowledging writes and exit
// non-zero, never go on as a second writer.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a sidecar paused while another took over its stale lock exits non-zero on waking', async (t) => {
  const paths = await testPaths(t);
  const first = await startSidecar(t, paths, { extraArgs: ['--lock-stale-ms', '2000'] });
  first.child.kill('SIGSTOP');
  t.after(() => first.child.kill('SIGCONT'));
  // Paused past the stale window: its lock is no longer refreshed, and a newcomer may take it.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  // The paused owner's socket still accepts connections (the kernel queues them), so the new owner binds another.
  const secondPaths = { ...paths, socketPath: path.join(paths.dir, 'run2', 's.sock') };
  const second = await startSidecar(t, secondPaths, { extraArgs: ['--lock-stale-ms', '2000'], timeoutMs: 20_000 });
  first.child.kill('SIGCONT');
  assert.equal(await first.exitWithin(10_000), 1);
  assert.match(first.stderr(), /compromised/);

  // The paused one left the new owner's record alone.
  const owner = JSON.parse(await readFile(path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'owner.json'), 'utf8')) as { pid: number };
  assert.equal(owner.pid, second.pid);

  const set = await runNode(CLI, ['set', 'owner', '"second"', '--socket', secondPaths.socketPath]);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(await second.stop(), 0);
});
