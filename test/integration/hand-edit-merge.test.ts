// A hand edit saved from a stale copy of the file is merged, not applied
// over the file: client writes made since the copy stay (docs/decisions.md,
// "Hand edits merge"). A path both changed keeps the client's value, and
// health says so until `config-sidecar health --ack` or the next edit.
import assert from 'node:assert/strict';
import { copyFile, readFile, rename, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { connect, type ConfigClient } from '../../client/index.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { healthOnceNotOk } from '../helpers/health-wait.js';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

/** Waits, with a bound, until `get(path)` answers `expected`. */
async function servedWithin(client: ConfigClient, path: string, expected: unknown, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await client.get(path).catch(() => undefined)) !== expected) {
    if (Date.now() > deadline) throw new Error(`${path} is not ${JSON.stringify(expected)} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('set a 1; copy the file; set b 2; save the copy plus "c": 3 — the config is {a:1, b:2, c:3}, health ok', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);
  assert.equal((await cli('set', 'a', '1')).code, 0);
  const copy = `${paths.configPath}.copy`;
  await copyFile(paths.configPath, copy);
  assert.equal((await cli('set', 'b', '2')).code, 0);
  const edited = { ...(JSON.parse(await readFile(copy, 'utf8')) as object), c: 3 };
  await writeFile(copy, JSON.stringify(edited, null, 2));
  await rename(copy, paths.configPath);

  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await servedWithin(client, 'c', 3);
  assert.deepEqual(await client.get(''), { a: 1, b: 2, c: 3 });
  await fileCaughtUp(client);
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { a: 1, b: 2, c: 3 }, 'the merged result is what the file holds');
  assert.equal((await client.health()).status, 'ok');
});

test('the same past 256 KiB, where the file is rendered by the renderer thread and its versions are kept as their texts', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  const filler = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, 'x'.repeat(100)]));
  await client.set('filler', filler);
  await client.set('a', 1, { waitForFile: true });
  const copy = JSON.parse(await readFile(paths.configPath, 'utf8')) as Record<string, unknown>;
  assert.ok(JSON.stringify(copy).length > 300_000);
  await client.set('filler.k0', 'changed');
  await client.set('a', 2, { waitForFile: true });
  await writeFile(paths.configPath, JSON.stringify({ ...copy, c: 3 }, null, 2));
  await servedWithin(client, 'c', 3);
  assert.deepEqual([await client.get('a'), await client.get('filler.k0')], [2, 'changed'], 'the writes made since the copy are kept');
  // Merged against the version it was copied from (a: 1), the edit did not change `a`: no conflict.
  assert.equal((await client.health()).status, 'ok');
});

test('a path changed by a client and by a stale edit keeps the client value; health degraded until health --ack', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('port', 80);
  await client.set('name', 'x', { waitForFile: true });
  const copy = JSON.parse(await readFile(paths.configPath, 'utf8')) as Record<string, unknown>;
  await client.set('port', 81, { waitForFile: true });
  await writeFile(paths.configPath, JSON.stringify({ ...copy, port: 8080, extra: 'y' }, null, 2));

  await servedWithin(client, 'extra', 'y');
  assert.equal(await client.get('port'), 81, 'the client value is kept');
  const health = await healthOnceNotOk(client);
  assert.equal(health.status, 'degraded');
  assert.match(health.reasons.join('\n'), /conflicted with client writes at port/);
  assert.match(sidecar.stderr(), /"paths":\["port"\].*"edit":\{"port":8080\}/);

  const acked = await runNode(CLI, ['health', '--ack', '--socket', paths.socketPath]);
  assert.equal(acked.code, 0, acked.stdout);
  assert.equal(JSON.parse(acked.stdout).status, 'ok');
  await fileCaughtUp(client);
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { port: 81, name: 'x', extra: 'y' });
});
