// How long a CLI call waits for a sidecar: no socket file fails at once (exit
// 3) unless --wait MS waits for one to appear; a socket that exists but does
// not answer keeps the whole --timeout.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { isRunning, servePidsFor, waitUntil } from '../helpers/sidecar-pids.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a socket that does not exist fails at once with exit 3, not after --timeout', async (t) => {
  const paths = await testPaths(t);
  const nobody = path.join(paths.dir, 'nobody.sock');
  for (const command of [['get', 'x'], ['set', 'x', '1'], ['watch'], ['health']]) {
    const started = Date.now();
    const result = await runNode(CLI, [...command, '--socket', nobody, '--timeout', '60000']);
    const elapsed = Date.now() - started;
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /UNAVAILABLE: .*nobody\.sock: no such socket/);
    assert.match(result.stderr, /--wait MS/);
    // The bound is far below the 60 s deadline, so a loaded machine cannot make this flaky.
    assert.ok(elapsed < 20_000, `${command[0]} took ${elapsed} ms: it waited for the deadline`);
  }
});

test('--wait MS waits for the socket to appear, and gives up after MS', async (t) => {
  const paths = await testPaths(t);
  const gaveUp = await runNode(CLI, ['get', 'x', '--socket', paths.socketPath, '--wait', '200', '--json']);
  assert.equal(gaveUp.code, 3);
  assert.match((JSON.parse(gaveUp.stderr) as { error: { message: string } }).error.message, /no such socket after waiting 200 ms/);

  // Started before the sidecar: it finds no socket and waits for it.
  const waiting = runNode(CLI, ['get', 'greeting', '--default', 'none yet', '--socket', paths.socketPath, '--wait', '60000'], { timeoutMs: 90_000 });
  await startSidecar(t, paths);
  const result = await waiting;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, 'none yet\n');
});

test('a socket that exists but never answers keeps the whole --timeout', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.socketPath), { mode: 0o700 });
  // Accepts connections and never says hello.
  const accepted = new Set<net.Socket>();
  const silent = net.createServer((socket) => accepted.add(socket));
  await new Promise<void>((resolve, reject) => silent.once('error', reject).listen(paths.socketPath, resolve));
  t.after(() => {
    for (const socket of accepted) socket.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  const started = Date.now();
  const result = await runNode(CLI, ['get', 'x', '--socket', paths.socketPath, '--timeout', '1500']);
  const elapsed = Date.now() - started;
  assert.equal(result.code, 3, result.stderr);
  assert.ok(elapsed >= 1500, `gave up after ${elapsed} ms, before its 1500 ms deadline`);
});

test('--auto-start skips the socket check and starts the sidecar on --app\'s default config', { skip: process.platform !== 'linux' && 'finds the started sidecar through /proc' }, async (t) => {
  const paths = await testPaths(t);
  t.after(async () => {
    const pids = await servePidsFor(paths.socketPath);
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    await waitUntil(async () => (await Promise.all(pids.map(isRunning))).every((running) => !running), 10_000, 'the started sidecar stops');
  });
  const env = { XDG_CONFIG_HOME: path.join(paths.dir, 'xdg'), CONFIG_SIDECAR_CONFIG: '' };
  const set = await runNode(CLI, ['set', 'a', '1', '--app', 'myapp', '--auto-start', '--socket', paths.socketPath, '--timeout', '30000'], { env });
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual(JSON.parse(await readFile(path.join(paths.dir, 'xdg', 'myapp', 'config.json'), 'utf8')), { a: 1 });
});

