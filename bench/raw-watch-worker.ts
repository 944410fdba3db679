// The watch workload's baseline load: the same roles as watch-worker.ts, but
// as bare node:net connections to raw-fanout-server.ts with the project's
// framing and codec only (no client library, no call table, no watch state).
// Watchers: --watchers connections subscribe; each event carries the writer's
// send time. Writer: one publish of `bench.t` every --interval-ms for
// --duration-ms, awaiting each acknowledgement, then `bench.done`.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { DEFAULT_LIMITS, FrameDecoder, decodeValue, encodeMessage } from '../protocol/index.js';
import { LatencyHistogram } from './latency-histogram.js';
import { WATCH_WORKER_OPTIONS, now, type WatchWorkerResult } from './watch-roles.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

const worker = startWorker('raw-watch-worker', { ...WATCH_WORKER_OPTIONS });
const socketPath = stringArg(worker.values, 'socket');
const role = stringArg(worker.values, 'role');
type Message = Record<string, unknown>;

/** Connects and calls `onMessage` with every decoded frame. */
async function open(onMessage: (message: Message) => void): Promise<net.Socket> {
  const socket = net.createConnection(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const decoder = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes);
  socket.on('data', (data) => {
    for (const frame of decoder.push(data)) onMessage(decodeValue(frame, DEFAULT_LIMITS) as Message);
  });
  socket.on('error', (error) => {
    throw error;
  });
  return socket;
}

if (role === 'writer') {
  const intervalMs = numberArg(worker.values, 'interval-ms');
  const durationMs = numberArg(worker.values, 'duration-ms');
  let answered: ((message: Message) => void) | undefined;
  const socket = await open((message) => answered?.(message));
  let id = 0;
  const publish = (path: string[], value: unknown) =>
    new Promise<Message>((resolve) => {
      answered = resolve;
      socket.write(encodeMessage({ id: ++id, op: 'publish', path, value }));
    });
  await worker.ready();
  const setLatency = new LatencyHistogram();
  const byRevision: number[] = [];
  const stopAt = performance.now() + durationMs;
  let sent = 0;
  while (performance.now() < stopAt) {
    const t0 = performance.now();
    const { revision } = await publish(['bench', 't'], now());
    const elapsed = performance.now() - t0;
    setLatency.record(elapsed);
    byRevision.push(revision as number, elapsed);
    sent++;
    const wait = intervalMs - (performance.now() - t0);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await publish(['bench', 'done'], true);
  socket.end();
  await worker.finish({ role, events: sent, resyncs: 0, latency: setLatency.toData(), byRevision } satisfies WatchWorkerResult);
} else {
  const count = numberArg(worker.values, 'watchers');
  const latency = new LatencyHistogram();
  const byRevision: number[] = [];
  let events = 0;
  const sockets: net.Socket[] = [];
  const subscribed: Promise<void>[] = [];
  const finished: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    let markSubscribed!: () => void;
    let markFinished!: () => void;
    subscribed.push(new Promise<void>((resolve) => (markSubscribed = resolve)));
    finished.push(new Promise<void>((resolve) => (markFinished = resolve)));
    const socket = await open((message) => {
      const receivedAt = now();
      if (message.type === 'subscribed') return markSubscribed();
      const [change] = message.changes as { path: string[]; value: unknown }[];
      if (change?.path.join('.') === 'bench.done') return markFinished();
      latency.record(receivedAt - (change!.value as number));
      byRevision.push(message.revision as number, receivedAt - (change!.value as number));
      events++;
    });
    socket.write(encodeMessage({ type: 'subscribe' }));
    sockets.push(socket);
  }
  await Promise.all(subscribed);
  await worker.ready();
  await Promise.all(finished);
  for (const socket of sockets) socket.end();
  await worker.finish({ role, events, resyncs: 0, latency: latency.toData(), byRevision } satisfies WatchWorkerResult);
}
