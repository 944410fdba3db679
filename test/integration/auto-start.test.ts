// connect({autoStart}) and `--auto-start`: when nothing answers, a client
// starts the sidecar itself. Twenty clients doing it at the same instant end
// with exactly one sidecar and twenty connected clients: one claims the start,
// the others wait for its sidecar. Autostarted sidecars are detached, so every
// test finds them by their socket path and stops them; none outlives a test.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../../client/index.js';
import { stateDirFor } from '../../protocol/index.js';
import type { AutoStartReport } from '../helpers/auto-start-worker.js';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { isRunning, servePidsFor, waitUntil } from '../helpers/sidecar-pids.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const WORKER = fileURLToPath(new URL('../helpers/auto-start-worker.js', import.meta.url));
const WORKERS = 20;

/** Stops, at the end of the test, every sidecar serving the test's socket (SIGTERM, then SIGKILL if it lingers). */
function stopAutostartedAfter(t: TestContext, paths: TestPaths): void {
  t.after(async () => {
    const pids = await servePidsFor(paths.socketPath);
    for (const pid of pids) signal(pid, 'SIGTERM');
    await waitUntil(async () => (await Promise.all(pids.map(isRunning))).every((running) => !running), 10_000, 'autostarted sidecars stop').catch(
      async (error: unknown) => {
        for (const pid of await servePidsFor(paths.socketPath)) signal(pid, 'SIGKILL');
        throw error;
      },
    );
  });
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Resolves with the first stdout line of `child` that satisfies `match`; rejects on exit or after `timeoutMs`. */
function lineFrom(child: ChildProcess, stderr: () => string, match: (line: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      lines.off('line', onLine);
      child.off('exit', onExit);
      outcome();
    };
    const onLine = (line: string) => {
      if (match(line)) finish(() => resolve(line));
    };
    const onExit = (code: number | null) => finish(() => reject(new Error(`worker ${child.pid} exited (${code}) early; stderr:\n${stderr()}`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`worker ${child.pid}: no matching line within ${timeoutMs} ms; stderr:\n${stderr()}`))), timeoutMs);
    lines.on('line', onLine);
    child.on('exit', onExit);
  });
}

test(`${WORKERS} clients autostarting at the same instant: exactly one sidecar serves, all ${WORKERS} connected to it`, async (t) => {
  if (process.platform !== 'linux') {
    t.skip('counts sidecar processes through /proc');
    return;
  }
  const paths = await testPaths(t);
  stopAutostartedAfter(t, paths);

  const workers = Array.from({ length: WORKERS }, () => {
    const child = spawn(process.execPath, [WORKER, paths.socketPath, paths.configPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    return { child, stderr: () => stderr, exited, waiting: lineFrom(child, () => stderr, (line) => line === 'waiting', 30_000) };
  });
  await Promise.all(workers.map((w) => w.waiting));

  // All modules loaded in every process: "go" reaches them all within a millisecond or so.
  const reportsPending = workers.map((w) => lineFrom(w.child, w.stderr, (line) => line.startsWith('{'), 60_000));
  const goAt = Date.now();
  for (const w of workers) w.child.stdin!.write('go\n');
  const reports = (await Promise.all(reportsPending)).map((line) => JSON.parse(line) as AutoStartReport);

  const sidecarPids = new Set(reports.map((report) => report.sidecarPid));
  assert.equal(sidecarPids.size, 1, `every client reached the same sidecar: ${[...sidecarPids].join(', ')}`);
  const [sidecarPid] = sidecarPids as unknown as [number];
  assert.ok(!reports.some((report) => report.pid === sidecarPid), 'a separate sidecar process, not one of the clients');
  const owner = JSON.parse(await readFile(path.join(stateDirFor(paths.configPath), 'owner.json'), 'utf8')) as { pid: number };
  assert.equal(owner.pid, sidecarPid, 'the ownership lock names it');

  // The other starts lost the race and exit by themselves.
  await waitUntil(async () => (await servePidsFor(paths.socketPath)).length === 1, 20_000, 'only one sidecar process left');
  assert.deepEqual(await servePidsFor(paths.socketPath), [sidecarPid]);
  const log = await readFile(path.join(stateDirFor(paths.configPath), 'autostart.log'), 'utf8');
  const served = log.split('config-sidecar: serving').length - 1;
  const refused = log.split('config-sidecar: cannot start').length - 1;
  assert.equal(served, 1, log);
  // One claim, one start — unless this machine took longer than the claim's 10 s lifetime to serve.
  if (Date.now() - goAt < 10_000) assert.equal(served + refused, 1, `one client started the sidecar, the others waited for it:\n${log}`);
  const claimant = Number(await readFile(path.join(stateDirFor(paths.configPath), 'autostart.claim'), 'utf8'));
  assert.ok(reports.some((report) => report.pid === claimant), 'the claim names one of the clients');

  const observer = connect({ socketPath: paths.socketPath });
  try {
    const stats = await observer.stats();
    assert.equal(stats.connections, WORKERS + 1, `all ${WORKERS} clients are connected at once (and this observer)`);
  } finally {
    observer.close();
  }
  for (const w of workers) w.child.stdin!.end();
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), new Array(WORKERS).fill(0));

  signal(sidecarPid, 'SIGTERM');
  await waitUntil(async () => !(await isRunning(sidecarPid)), 10_000, 'the autostarted sidecar stops on SIGTERM');
});

test('`--auto-start` on the CLI: the first command starts the sidecar on the configured paths, the next one uses it', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('counts sidecar processes through /proc');
    return;
  }
  const paths = await testPaths(t);
  stopAutostartedAfter(t, paths);
  const env = { CONFIG_SIDECAR_CONFIG: paths.configPath };
  const cli = (...args: string[]) => runNode(CLI, [...args, '--auto-start', '--socket', paths.socketPath], { env });

  const set = await cli('set', 'a', '1');
  assert.equal(set.code, 0, set.stderr);
  const [sidecarPid] = await servePidsFor(paths.socketPath);
  assert.ok(sidecarPid !== undefined, 'the sidecar runs after the CLI exited');
  const get = await cli('get', 'a');
  assert.equal(get.stdout, '1\n', get.stderr);
  assert.deepEqual(await servePidsFor(paths.socketPath), [sidecarPid], 'the second command used it, started none');
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { a: 1 }, 'CONFIG_SIDECAR_CONFIG chose the file');
});

test('a claim left by a client that died does not block a start once it has expired', async (t) => {
  if (process.platform !== 'linux') {
    t.skip('counts sidecar processes through /proc');
    return;
  }
  const paths = await testPaths(t);
  stopAutostartedAfter(t, paths);
  const claim = path.join(stateDirFor(paths.configPath), 'autostart.claim');
  await mkdir(path.dirname(claim), { recursive: true });
  await writeFile(claim, '999999\n');
  const aMinuteAgo = new Date(Date.now() - 60_000);
  await utimes(claim, aMinuteAgo, aMinuteAgo);
  const client = connect({ socketPath: paths.socketPath, autoStart: { configPath: paths.configPath } });
  try {
    await client.set('a', 1, { timeoutMs: 15_000 });
  } finally {
    client.close();
  }
  assert.equal((await servePidsFor(paths.socketPath)).length, 1);
  assert.equal(Number(await readFile(claim, 'utf8')), process.pid, 'this client took the claim over');
});

test('an autoStart client leaves a sidecar that already answers alone', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths);
  const logFile = path.join(paths.dir, 'autostart.log');
  const client = connect({ socketPath: paths.socketPath, autoStart: { configPath: paths.configPath, logFile } });
  try {
    await client.set('a', 1);
    const info = await client.info();
    assert.equal((info.sidecar as { pid: number }).pid, sidecar.pid);
  } finally {
    client.close();
  }
  await assert.rejects(readFile(logFile), { code: 'ENOENT' }, 'no sidecar was started');
  if (process.platform === 'linux') assert.deepEqual(await servePidsFor(paths.socketPath), [sidecar.pid]);
});

test('autostart.log is rotated before a start once it has reached 1 MiB: the log and one older generation', async (t) => {
  const paths = await testPaths(t);
  stopAutostartedAfter(t, paths);
  const logFile = path.join(stateDirFor(paths.configPath), 'autostart.log');
  await mkdir(path.dirname(logFile), { recursive: true, mode: 0o700 });
  const earlier = 'an earlier start that failed\n'.repeat(40_000); // 1.1 MiB of failed starts
  await writeFile(logFile, earlier);
  await writeFile(`${logFile}.1`, 'the generation before: dropped\n');

  const client = connect({ socketPath: paths.socketPath, autoStart: { configPath: paths.configPath } });
  try {
    await client.set('a', 1, { timeoutMs: 15_000 });
  } finally {
    client.close();
  }
  assert.equal(await readFile(`${logFile}.1`, 'utf8'), earlier, 'the full log became the older generation');
  const current = await readFile(logFile, 'utf8');
  assert.match(current, /config-sidecar: serving/);
  assert.ok(current.length < 64 * 1024, `the new log holds only this start (${current.length} bytes)`);
});
