// One owner per config file (dconf's single writer): a second sidecar on the
// same file, or on the same socket, is refused with a message naming the
// owner, and the first one keeps serving.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a second sidecar on the same config file is refused and the first keeps serving', async (t) => {
  const paths = await testPaths(t);
  const first = await startSidecar(t, paths);
  const secondSocket = path.join(paths.dir, 'run2', 's.sock');
  const second = await runNode(CLI, ['serve', '--config', paths.configPath, '--socket', secondSocket, '--log-level', 'silent']);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, new RegExp(`pid ${first.pid}`));
  assert.ok(second.stderr.includes(paths.socketPath), second.stderr);

  const set = await runNode(CLI, ['set', 'still', 'serving', '--socket', paths.socketPath]);
  assert.equal(set.code, 0, set.stderr);
  const get = await runNode(CLI, ['get', 'still', '--socket', paths.socketPath]);
  assert.equal(get.stdout.trim(), 'serving');
});

test('a sidecar for another file is refused a socket that a live sidecar answers on', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const other = await runNode(CLI, ['serve', '--config', path.join(paths.dir, 'other', 'config.json'), '--socket', paths.socketPath, '--log-level', 'silent']);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /already answers on/);
  const get = await runNode(CLI, ['health', '--socket', paths.socketPath]);
  assert.equal(get.code, 0, get.stderr);
});

test('after kill -9 the lock and socket left behind are reclaimed at once', async (t) => {
  const paths = await testPaths(t);
  const first = await startSidecar(t, paths);
  assert.equal((await runNode(CLI, ['set', 'a', '1', '--socket', paths.socketPath])).code, 0);
  await first.kill9();
  const started = Date.now();
  await startSidecar(t, paths);
  const elapsed = Date.now() - started;
  // proper-lockfile alone would wait for its 10 s stale window.
  assert.ok(elapsed < 5000, `restart took ${elapsed} ms`);
  const get = await runNode(CLI, ['get', 'a', '--socket', paths.socketPath]);
  assert.equal(get.stdout.trim(), '1');
});
