// Durable-set load against the sidecar: the real client library, --in-flight
// sets outstanding, each to a key never written before (w<index>.k<seq>, or
// w<index>.b<bucket>.k<seq> with --bucket-size), for --duration-ms. Every set
// resolves only once the sidecar has made it durable (group commit: temp
// file, fsync, rename, fsync dir).
import { performance } from 'node:perf_hooks';
import { connect } from '../client/index.js';
import { AckSeries, type DurableWorkerResult, documentPath, writeValue } from './durable-write-result.js';
import { LatencyHistogram } from './latency-histogram.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

const worker = startWorker('set-worker', {
  socket: { type: 'string' },
  'worker-index': { type: 'string' },
  'in-flight': { type: 'string', default: '16' },
  'duration-ms': { type: 'string', default: '10000' },
  'bucket-size': { type: 'string', default: '0' },
});
const socketPath = stringArg(worker.values, 'socket');
const index = numberArg(worker.values, 'worker-index');
const inFlight = numberArg(worker.values, 'in-flight');
const durationMs = numberArg(worker.values, 'duration-ms');
const bucketSize = numberArg(worker.values, 'bucket-size');

const client = connect({ socketPath, name: `bench-set-${index}`, defaultTimeoutMs: 30_000 });
await client.ready();
await worker.ready();

const latency = new LatencyHistogram();
const failed: DurableWorkerResult['failed'] = [];
let next = 0;
let acked = 0;
let lastAck = 0;
const start = performance.now();
const stopAt = start + durationMs;
const series = new AckSeries(start);

const lane = async () => {
  while (performance.now() < stopAt) {
    const seq = next++;
    const t0 = performance.now();
    try {
      await client.set(documentPath(index, seq, bucketSize).join('.'), writeValue(index, seq));
      lastAck = performance.now();
      latency.record(lastAck - t0);
      series.add(lastAck);
      acked++;
    } catch (error) {
      failed.push({ seq, error: (error as { code?: string }).code ?? String(error) });
    }
  }
};
await Promise.all(Array.from({ length: inFlight }, lane));
client.close();

const result: DurableWorkerResult = {
  workerIndex: index,
  issued: next,
  failed,
  acked,
  elapsedMs: (lastAck || performance.now()) - start,
  ackedPerSecond: series.toArray(),
  latency: latency.toData(),
};
worker.finish(result);
