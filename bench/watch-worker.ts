// Watch-delivery load. As a watcher (--role watcher): --watchers separate
// clients each watch `bench`; every event's value carries the writer's send
// time, so delivery latency = receipt time - send time (both from the shared
// system clock: performance.timeOrigin + now, sub-millisecond). As the writer
// (--role writer): one set of `bench.t` every --interval-ms for --duration-ms.
// As a replica (--role replica): --watchers clients each keep a replica of the
// document; a change counts when the replica serves it (onDidChange fires
// after the copy is updated).
import { performance } from 'node:perf_hooks';
import { connect, type ConfigClient } from '../client/index.js';
import { LatencyHistogram } from './latency-histogram.js';
import { WATCH_WORKER_OPTIONS, now, type WatchWorkerResult } from './watch-roles.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

const worker = startWorker('watch-worker', { ...WATCH_WORKER_OPTIONS });
const socketPath = stringArg(worker.values, 'socket');
const role = stringArg(worker.values, 'role');
const durationMs = numberArg(worker.values, 'duration-ms');

if (role === 'writer') {
  const intervalMs = numberArg(worker.values, 'interval-ms');
  const client = connect({ socketPath, name: 'bench-watch-writer', defaultTimeoutMs: 30_000 });
  await client.ready();
  await worker.ready();
  const setLatency = new LatencyHistogram();
  const stopAt = performance.now() + durationMs;
  let sent = 0;
  const byRevision: number[] = [];
  while (performance.now() < stopAt) {
    const t0 = performance.now();
    const { revision } = await client.set('bench.t', now());
    const elapsed = performance.now() - t0;
    setLatency.record(elapsed);
    byRevision.push(revision, elapsed);
    sent++;
    const wait = intervalMs - (performance.now() - t0);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  // Tell watchers the run is over.
  await client.set('bench.done', true);
  client.close();
  worker.finish({ role, events: sent, resyncs: 0, latency: setLatency.toData(), byRevision } satisfies WatchWorkerResult);
} else if (role === 'replica') {
  const count = numberArg(worker.values, 'watchers');
  const latency = new LatencyHistogram();
  let events = 0;
  const byRevision: number[] = [];
  const clients: ConfigClient[] = [];
  const finished: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const client = connect({ socketPath, name: `bench-replica-${i}`, defaultTimeoutMs: 30_000, replica: true });
    clients.push(client);
    client.onDidChange('bench.t', (value) => {
      const servedAt = now();
      if (typeof value !== 'number') return;
      latency.record(servedAt - value);
      byRevision.push(client.revision(), servedAt - value);
      events++;
    });
    finished.push(new Promise<void>((resolve) => client.onDidChange('bench.done', () => resolve())));
  }
  await Promise.all(clients.map((client) => client.synced()));
  await worker.ready();
  await Promise.all(finished);
  for (const client of clients) client.close();
  worker.finish({ role, events, resyncs: 0, latency: latency.toData(), byRevision } satisfies WatchWorkerResult);
} else {
  const count = numberArg(worker.values, 'watchers');
  const latency = new LatencyHistogram();
  let events = 0;
  let resyncs = 0;
  const byRevision: number[] = [];
  const clients: ConfigClient[] = [];
  const started: Promise<void>[] = [];
  const finished: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const client = connect({ socketPath, name: `bench-watcher-${i}`, defaultTimeoutMs: 30_000 });
    clients.push(client);
    let markStarted!: () => void;
    started.push(new Promise<void>((resolve) => (markStarted = resolve)));
    finished.push(
      new Promise<void>((resolve) => {
        const handle = client.watch(
          'bench',
          (event) => {
            const receivedAt = now();
            if (event.source === 'snapshot') return markStarted();
            if (event.resync) resyncs++;
            for (const change of event.changes) {
              if (change.path.join('.') === 'bench.t' && typeof change.value === 'number') {
                latency.record(receivedAt - change.value);
                byRevision.push(event.revision, receivedAt - change.value);
                events++;
              }
              if (change.path.join('.') === 'bench.done') {
                handle.close();
                resolve();
              }
            }
          },
          { onError: (error) => { throw error; } },
        );
      }),
    );
  }
  await Promise.all(started);
  await worker.ready();
  await Promise.all(finished);
  for (const client of clients) client.close();
  worker.finish({ role, events, resyncs, latency: latency.toData(), byRevision } satisfies WatchWorkerResult);
}
