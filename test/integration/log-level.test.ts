// The sidecar's log as operators filter it: levels as labels ("level":"info"),
// and SIGUSR2 stepping the level of a running sidecar (start level → debug →
// trace → start level), also when it arrives during start-up.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitUntilCaught } from '../helpers/caught-signals.js';
import { startSidecar, waitForServing, type SidecarProcess } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const unixOnly = process.platform === 'win32' ? { skip: 'no SIGUSR2 on Windows' } : {};
const linuxOnly = process.platform === 'linux' ? {} : { skip: 'reads /proc/<pid>/status' };

function logLines(sidecar: SidecarProcess): Record<string, unknown>[] {
  return sidecar
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The log lines that `pick` keeps, waited for until there are `count` of them (pino writes asynchronously). */
async function linesWhere(sidecar: SidecarProcess, pick: (line: Record<string, unknown>) => boolean, count: number, timeoutMs = 30_000): Promise<Record<string, unknown>[]> {
  const picked = () => logLines(sidecar).filter(pick);
  const deadline = Date.now() + timeoutMs;
  while (picked().length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} matching log lines within ${timeoutMs} ms; stderr:\n${sidecar.stderr()}`);
    // Checked and subscribed in one tick: no line can slip in between; the timer keeps the bound.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      sidecar.child.stderr!.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return picked();
}

/** The levels announced by SIGUSR2 so far, waited for until there are `count` of them. */
async function levelChanges(sidecar: SidecarProcess, count: number): Promise<unknown[]> {
  return (await linesWhere(sidecar, (line) => line.msg === 'SIGUSR2: log level changed', count)).map((line) => line.logLevel);
}

test('log lines carry their level as a label; SIGUSR2 steps it to debug, trace and back', unixOnly, async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--log-level', 'info'] });
  const started = await linesWhere(sidecar, () => true, 1);
  for (const line of started) assert.equal(typeof line.level, 'string', `a label, not a number: ${JSON.stringify(line)}`);

  for (let i = 1; i <= 3; i++) {
    sidecar.child.kill('SIGUSR2');
    await levelChanges(sidecar, i);
  }
  assert.deepEqual(await levelChanges(sidecar, 3), ['debug', 'trace', 'info']);
  for (const line of logLines(sidecar).filter((l) => l.msg === 'SIGUSR2: log level changed')) assert.equal(line.level, 'info');
  assert.equal(await sidecar.stop(), 0, 'SIGUSR2 never took its default action (terminate)');
});

test('a SIGUSR2 during start-up is applied once it serves, not fatal', linuxOnly, async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths, { noWait: true, extraArgs: ['--log-level', 'warn'] });
  await waitUntilCaught(sidecar.pid, 'SIGUSR2', sidecar.exited);
  sidecar.child.kill('SIGUSR2');
  await waitForServing(sidecar.child, sidecar.stderr, sidecar.exited);
  assert.deepEqual(await levelChanges(sidecar, 1), ['debug'], 'announced even though the start level was warn');
  assert.equal(await sidecar.stop(), 0);
});
