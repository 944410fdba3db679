// The sidecar's log as operators filter it: levels as labels ("level":"info"),
// SIGUSR2 stepping the level of a running sidecar (start level → debug →
// trace → start level), also when it arrives during start-up, `config-sidecar
// log-level` setting it, and the client named in every line about a connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import path from 'node:path';
import { connect } from '../../client/index.js';
import { waitUntilCaught } from '../helpers/caught-signals.js';
import { encodeMessage } from '../../protocol/index.js';
import { CLI } from '../helpers/paths.js';
import { rawConnect } from '../helpers/raw-socket.js';
import { runNode } from '../helpers/run-process.js';
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

test('config-sidecar log-level: a connection at debug is logged after the change, not before, naming the client; the read-only socket refuses it', async (t) => {
  const paths = await testPaths(t);
  const readOnlySocket = path.join(path.dirname(paths.socketPath), 'ro.sock');
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--log-level', 'info', '--read-only-socket', readOnlySocket] });
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);
  const opened = (line: Record<string, unknown>) => line.msg === 'connection opened';

  // At info: this connection opens and closes without a line.
  const before = connect({ socketPath: paths.socketPath, name: 'before the change' });
  await before.ping();
  before.close();
  const asked = await cli('log-level');
  assert.equal(asked.code, 0, asked.stderr);
  assert.equal(asked.stdout, 'info\n');

  const changed = await cli('log-level', 'debug', '--json');
  assert.equal(changed.code, 0, changed.stderr);
  assert.deepEqual(JSON.parse(changed.stdout), { level: 'debug', previous: 'info' });
  // The change is logged when it happens; the log is one ordered stream, so nothing logged before it can come after it.
  const [change] = await linesWhere(sidecar, (line) => line.msg === 'log level changed by request', 1);
  assert.equal(change!.logLevel, 'debug');
  assert.equal(change!.level, 'info');
  const lines = logLines(sidecar);
  const changeAt = lines.findIndex((line) => line.msg === 'log level changed by request');
  assert.deepEqual(lines.slice(0, changeAt).filter(opened), [], 'no connection logged at info');

  const after = connect({ socketPath: paths.socketPath, name: 'after the change' });
  await after.ping();
  after.close();
  const [open] = await linesWhere(sidecar, (line) => opened(line) && (line.client as { name?: string }).name === 'after the change', 1);
  assert.equal(open!.level, 'debug');
  assert.deepEqual(open!.client, { name: 'after the change', pid: process.pid });
  const [closed] = await linesWhere(sidecar, (line) => line.msg === 'connection closed' && (line.client as { name?: string }).name === 'after the change', 1);
  assert.equal(typeof closed!.openMs, 'number');

  // A protocol error is a warning naming the client.
  const rude = await rawConnect(paths.socketPath);
  await rude.hello();
  rude.write(encodeMessage({ nonsense: true }));
  await rude.closed();
  const [warning] = await linesWhere(sidecar, (line) => line.msg === 'closing connection after a protocol error', 1);
  assert.equal(warning!.level, 'warn');
  assert.deepEqual(warning!.client, { name: 'raw', pid: process.pid });

  const refused = await runNode(CLI, ['log-level', 'trace', '--socket', readOnlySocket]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /READ_ONLY/);
  const usage = await cli('log-level', 'loud');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /fatal, error, warn, info, debug, trace, silent/);

  const back = await cli('log-level', 'info', '--json');
  assert.deepEqual(JSON.parse(back.stdout), { level: 'info', previous: 'debug' });
  assert.equal(await sidecar.stop(), 0);
});
