// Linearizability under crashes, as etcd's robustness tests check it: client
// processes record every get, set, delete and conditional write (call and
// return times on a shared clock, arguments, results) while the sidecar is
// killed -9 or stopped and restarted at random moments; then every key's
// history must be explainable by one register (test/helpers/linearizability.ts).
// A relay that answers gets from unacknowledged writes shows the check is able
// to fail: the same scenario passes through a faithful relay and is rejected
// through a dirty one.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DirtyReadProxy, type ProxyMode } from '../helpers/dirty-read-proxy.js';
import { loadHistory, outcomeCounts, sharedClockMs } from '../helpers/history-recorder.js';
import { startLineProcess, type LineProcess } from '../helpers/line-process.js';
import { runNode } from '../helpers/run-process.js';
import { checkHistory, type Verdict } from '../helpers/linearizability.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const HISTORY_WORKER = fileURLToPath(new URL('../helpers/history-worker.js', import.meta.url));
const ROUNDS = Number(process.env.HISTORY_ROUNDS ?? 2);
const SEED = Number(process.env.HISTORY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 4;
const LANES_PER_CLIENT = 2;
const KEYS = 4;

async function startWorker(t: TestContext, socketPath: string, historyDir: string, name: string, timeoutMs: number): Promise<LineProcess> {
  return startLineProcess(t, HISTORY_WORKER, [socketPath, path.join(historyDir, `${name}.jsonl`), String(timeoutMs)]);
}

/** Expects `answer` as the worker's next line. */
async function expectLine(worker: LineProcess, answer: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const line = await worker.next(timeoutMs);
  if (typeof answer === 'string') assert.equal(line, answer);
  else assert.match(line, answer);
  return line;
}

async function closeWorkers(workers: LineProcess[]): Promise<void> {
  for (const worker of workers) worker.send('close');
  for (const worker of workers) await expectLine(worker, 'closed');
}

test(`${ROUNDS} kill -9s and SIGTERMs under ${CLIENTS} recorded clients: every key's history is linearizable (seed ${SEED})`, async (t) => {
  t.diagnostic(`seed ${SEED} (replay the choices with HISTORY_SEED=${SEED}; the timing of the processes varies)`);
  const random = seededRandom(SEED);
  const paths = await testPaths(t);
  const historyDir = path.join(paths.dir, 'history');
  await mkdir(historyDir);
  let sidecar = await startSidecar(t, paths);
  const workers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => startWorker(t, paths.socketPath, historyDir, `client${i}`, 2000)));
  workers.forEach((worker, i) => worker.send(`random ${SEED + i} ${KEYS} ${LANES_PER_CLIENT}`));

  const stops = { SIGKILL: 0, SIGTERM: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    await delay(100 + random() * 400);
    // The first two stops are one of each, so even a short run has both.
    const graceful = round < 2 ? round === 1 : random() < 0.4;
    stops[graceful ? 'SIGTERM' : 'SIGKILL']++;
    await (graceful ? sidecar.stop() : sidecar.kill9());
    sidecar = await startSidecar(t, paths);
  }
  // Calls after the last restart too.
  await delay(200);
  for (const worker of workers) worker.send('stop');
  for (const worker of workers) await expectLine(worker, /^stopped \d+$/);
  await closeWorkers(workers);
  await sidecar.stop();

  const history = await loadHistory(historyDir);
  const started = Date.now();
  // A CONFLICT is not evidence of a change here: a restart renumbers every modRevision (docs/decisions.md).
  const verdict = checkHistory(history, { conflicts: 'ignored', clockSlackMs: 1, deadlineMs: 30_000 });
  t.diagnostic(`${stops.SIGKILL} kill -9s, ${stops.SIGTERM} SIGTERMs; ${history.length} operations ${JSON.stringify(outcomeCounts(history))}`);
  t.diagnostic(`checked in ${Date.now() - started} ms: ${verdict.keys.map((k) => `${k.key} ${k.operations} ops ${k.steps} steps`).join(', ')}`);
  assert.equal(verdict.result, 'linearizable', verdict.explanation);
  const counts = outcomeCounts(history);
  assert.ok((counts['get ok'] ?? 0) > 0 && (counts['set ok'] ?? 0) > 0, `the clients got answers through the restarts: ${JSON.stringify(counts)}`);
});

/**
 * The scenario of a read from uncommitted state: `set k u` is acknowledged; the sidecar is frozen
 * (SIGSTOP) so it can make nothing durable; client A sends `set k v`; client B gets k; the sidecar
 * is killed and restarted; client C gets k. Through a faithful relay B's get waits for the restarted
 * sidecar and sees u. A dirty relay answers B with v at once, and C then sees u again.
 */
async function dirtyReadScenario(t: TestContext, mode: ProxyMode): Promise<Verdict> {
  const paths = await testPaths(t);
  const historyDir = path.join(paths.dir, 'history');
  await mkdir(historyDir);
  let sidecar = await startSidecar(t, paths);
  const relaySocket = path.join(paths.dir, 'relay.sock');
  const relay = await DirtyReadProxy.start(relaySocket, paths.socketPath, mode);
  t.after(() => relay.close());
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startWorker(t, relaySocket, historyDir, name, 20_000)));

  a!.send('set k u');
  await expectLine(a!, 'done ok');
  process.kill(sidecar.pid, 'SIGSTOP');
  const written = relay.next('write', 'k');
  a!.send('set k v');
  await written;
  const handled = relay.next('get', 'k');
  b!.send('get k');
  const [, how] = await handled;
  assert.equal(how, mode === 'dirty' ? 'dirty' : 'forwarded');
  if (mode === 'dirty') await expectLine(b!, 'done {"exists":true,"value":"v"}');

  await sidecar.kill9();
  await expectLine(a!, 'done unknown');
  sidecar = await startSidecar(t, paths);
  c!.send('get k');
  await expectLine(c!, 'done {"exists":true,"value":"u"}');
  // Through the faithful relay, B's read was sent again to the restarted sidecar.
  if (mode === 'faithful') await expectLine(b!, 'done {"exists":true,"value":"u"}');
  await closeWorkers([a!, b!, c!]);
  await sidecar.stop();
  return checkHistory(await loadHistory(historyDir));
}

test('the checker accepts a run in which reads are served from committed state', async (t) => {
  const verdict = await dirtyReadScenario(t, 'faithful');
  assert.equal(verdict.result, 'linearizable', verdict.explanation);
});

test('the checker rejects a run in which a read is served from an unacknowledged write', async (t) => {
  const verdict = await dirtyReadScenario(t, 'dirty');
  assert.equal(verdict.result, 'not-linearizable');
  for (const line of verdict.explanation.split('\n')) t.diagnostic(line);
  // The explanation names the key and the reads on either side of the violation.
  assert.match(verdict.explanation, /key "k"/);
  assert.match(verdict.explanation, /b#1: get → saw value "v"/);
  assert.match(verdict.explanation, /c#1: get → saw value "u"/);
});

test('the recorder stamps calls with a clock that orders events of different processes', async () => {
  const before = sharedClockMs();
  const child = await runNode('-e', [`process.stdout.write(String(performance.timeOrigin + performance.now()))`], { timeoutMs: 30_000 });
  const after = sharedClockMs();
  const inChild = Number(child.stdout);
  assert.ok(before < inChild && inChild < after, `the child's time ${inChild} is not between ${before} and ${after}`);
});
