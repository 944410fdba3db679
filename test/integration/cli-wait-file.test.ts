// The CLI's writes return once the config file holds them (a write is
// committed to the journal first and the file rewritten behind it): a script
// that reads the file right after `config-sidecar set` sees its write.
// `--no-wait-file` returns at the commit. The file's rewrite is held on
// purpose (an in-process sidecar whose rename waits), so the difference shows.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { startFaultySidecar } from '../helpers/faulty-sidecar.js';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';

test('set, unset and load wait for the file by default; --no-wait-file returns at the commit', async (t) => {
  const { faulty, client, paths } = await startFaultySidecar(t);
  await client.set('a', 1, { waitForFile: true });
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath], { timeoutMs: 20_000 });

  for (const [args, expected] of [
    [['set', 'a', '2'], { a: 2 }],
    [['unset', 'a'], {}],
    [['load', '-'], { b: 3 }],
  ] as const) {
    const held = faulty.holdAt('rename');
    let exited = false;
    const run = runNode(CLI, [...args, '--socket', paths.socketPath], { timeoutMs: 20_000, ...(args[0] === 'load' ? { input: '{"b": 3}' } : {}) }).then((result) => {
      exited = true;
      return result;
    });
    await held.entered;
    // Committed and served while the file's rename is held: the command has not returned.
    assert.deepEqual(await client.get(''), expected);
    await client.ping();
    assert.equal(exited, false, `${args.join(' ')} returned before the file held its write`);
    held.release();
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), expected, `${args.join(' ')}: the file holds it once the command returns`);
  }

  const held = faulty.holdAt('rename');
  const quick = await cli('set', 'c', '4', '--no-wait-file');
  assert.equal(quick.code, 0, quick.stderr);
  await held.entered;
  assert.equal(await client.get('c'), 4, 'committed and served');
  assert.equal(JSON.parse(await readFile(paths.configPath, 'utf8')).c, undefined, 'the file does not hold it yet');
  held.release();

  const both = await cli('set', 'c', '5', '--wait-file', '--no-wait-file');
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--wait-file or --no-wait-file, not both/);
});
