// A config that has never been written is not a removed one: before the first
// write, SIGHUP and stop report nothing about it; once the file has existed,
// removing it is reported (health degraded, a warning).
import assert from 'node:assert/strict';
import { unlink } from 'node:fs/promises';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { healthOnceNotOk } from '../helpers/health-wait.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('before the first write, SIGHUP and stop say nothing of a removed file; after it, a removal degrades health', async (t) => {
  const paths = await testPaths(t);
  const fresh = await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  fresh.child.kill('SIGHUP');
  assert.equal((await client.health()).status, 'ok');
  client.close();
  // The stop re-reads the file once more, after the SIGHUP's re-read: both have run when it exits.
  assert.equal(await fresh.stop(), 0);
  assert.doesNotMatch(fresh.stderr(), /config file removed/);

  const again = await startSidecar(t, paths);
  const writer = connect({ socketPath: paths.socketPath });
  t.after(() => writer.close());
  await writer.set('a', 1, { waitForFile: true });
  await unlink(paths.configPath);
  again.child.kill('SIGHUP');
  const health = await healthOnceNotOk(writer);
  assert.match(health.reasons.join('\n'), /removed from disk/);
  // The warning is logged with it; the log reaches the pipe a moment later.
  const deadline = Date.now() + 5000;
  while (!/config file removed/.test(again.stderr()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.match(again.stderr(), /config file removed/);
});
