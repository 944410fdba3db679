// Signals while the sidecar starts: `systemctl reload` right after `start`
// sends a SIGHUP within the first few hundred milliseconds, and a stop can
// come as early. A SIGHUP never kills it (it is answered with a re-read once
// it serves); a SIGTERM or SIGINT stops it cleanly: exit 0, lock and socket
// released, so the next start serves. The only window left is the runtime's
// own bootstrap, before any JavaScript runs; the tests start counting once
// the process catches the signal and check that this happens long before
// it serves (docs/operations.md, signals).
import assert from 'node:assert/strict';
import { access, readdir, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { waitUntilCaught } from '../helpers/caught-signals.js';
import { startSidecar, waitForServing, type SidecarProcess } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const linuxOnly = process.platform === 'linux' ? {} : { skip: 'reads /proc/<pid>/status' };
const SERVING = 'config-sidecar: serving';

/**
 * Starts a sidecar and sends `signal` `delayMs` after spawn, or as soon as its handlers are in place if that is later.
 * SIGHUP marks that moment for all three: the runtime itself catches SIGTERM and SIGINT before any code runs
 * (to restore the terminal, then die), so only SIGHUP's bit tells that the sidecar's handlers exist.
 */
async function signalDuringStart(t: Parameters<typeof startSidecar>[0], paths: TestPaths, signal: NodeJS.Signals, delayMs: number) {
  const spawnedAt = performance.now();
  const sidecar = await startSidecar(t, paths, { noWait: true, extraArgs: ['--log-level', 'info'] });
  await waitUntilCaught(sidecar.pid, 'SIGHUP', sidecar.exited);
  const wait = spawnedAt + delayMs - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  sidecar.child.kill(signal);
  return sidecar;
}

async function stateDirHoldsNoLock(paths: TestPaths): Promise<void> {
  const state = await readdir(path.join(path.dirname(paths.configPath), '.config.json.sidecar'));
  assert.ok(!state.includes('lock'), `lock released (state dir holds ${state.join(', ')})`);
}

test('SIGHUP at any point of start-up: the sidecar serves and answers it with a re-read', linuxOnly, async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  await writeFile(paths.configPath, '{"a": 1}\n');
  let duringStart = 0;
  for (const delayMs of [0, 25, 50, 100, 150, 200, 300]) {
    const sidecar = await signalDuringStart(t, paths, 'SIGHUP', delayMs);
    await waitForServing(sidecar.child, sidecar.stderr, sidecar.exited);
    const client = connect({ socketPath: paths.socketPath });
    try {
      assert.equal(await client.get('a'), 1);
      await client.set('b', delayMs);
    } finally {
      client.close();
    }
    // Answered by one re-read: either remembered from start-up or handled as usual, never the default action.
    await waitForLine(sidecar, /SIGHUP during start-up: re-reading|SIGHUP: re-reading/);
    if (sidecar.stderr().includes('SIGHUP during start-up')) duringStart++;
    assert.equal(await sidecar.stop(), 0, `stopped cleanly after a SIGHUP at ${delayMs} ms; stderr:\n${sidecar.stderr()}`);
  }
  // The sidecar logs this only for a SIGHUP it caught before serving: handlers installed only once serving make it 0.
  assert.ok(duringStart > 0, 'at least one SIGHUP reached the sidecar while it was starting');
});

test('SIGTERM or SIGINT during start-up stops it cleanly: exit 0, lock and socket released, the next start serves', linuxOnly, async (t) => {
  const paths = await testPaths(t);
  let duringStart = 0;
  for (const [signal, delayMs] of [['SIGTERM', 0], ['SIGTERM', 50], ['SIGINT', 0], ['SIGTERM', 150]] as const) {
    const sidecar = await signalDuringStart(t, paths, signal, delayMs);
    assert.equal(await sidecar.exitWithin(), 0, `${signal} at ${delayMs} ms; stderr:\n${sidecar.stderr()}`);
    if (sidecar.stderr().includes('stop signal during start-up')) {
      duringStart++;
      assert.ok(!sidecar.stderr().includes(SERVING), 'a sidecar stopped during start-up never announces that it serves');
    }
    await assert.rejects(access(paths.socketPath), /ENOENT/);
    await stateDirHoldsNoLock(paths);
  }
  assert.ok(duringStart > 0, 'at least one stop signal reached the sidecar while it was starting');
  const next = await startSidecar(t, paths);
  assert.equal(await next.stop(), 0);
});

/** Resolves once the sidecar's stderr matches `pattern` (bounded). */
function waitForLine(sidecar: SidecarProcess, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr:\n${sidecar.stderr()}`)), timeoutMs);
    const check = () => {
      if (!pattern.test(sidecar.stderr())) return;
      clearTimeout(timer);
      sidecar.child.stderr!.off('data', check);
      resolve();
    };
    sidecar.child.stderr!.on('data', check);
    check();
  });
}
