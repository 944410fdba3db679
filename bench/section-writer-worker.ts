// The writer of the "KeyRx freeze" workload: sets one key inside one section
// of a large document, again and again, one set at a time, for --duration-ms.
// Each set makes the sidecar write the whole file durably.
import { performance } from 'node:perf_hooks';
import { connect } from '../client/index.js';
import { LatencyHistogram, type HistogramData } from './latency-histogram.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

export interface SectionWriterResult {
  sets: number;
  elapsedMs: number;
  latency: HistogramData;
  errors: number;
  firstError?: string;
}

const worker = startWorker('section-writer-worker', {
  socket: { type: 'string' },
  path: { type: 'string' },
  'duration-ms': { type: 'string', default: '10000' },
});
const socketPath = stringArg(worker.values, 'socket');
const path = stringArg(worker.values, 'path');
const durationMs = numberArg(worker.values, 'duration-ms');

const client = connect({ socketPath, name: 'bench-section-writer', defaultTimeoutMs: 30_000 });
await client.ready();
await worker.ready();

const latency = new LatencyHistogram();
let errors = 0;
let firstError: string | undefined;
const start = performance.now();
for (let i = 0; performance.now() - start < durationMs; i++) {
  const t0 = performance.now();
  try {
    await client.set(path, `rewritten value number ${i}, same length as before`);
    latency.record(performance.now() - t0);
  } catch (error) {
    errors++;
    firstError ??= error instanceof Error ? error.message : String(error);
  }
}
const elapsedMs = performance.now() - start;
client.close();

const result: SectionWriterResult = { sets: latency.size, elapsedMs, latency: latency.toData(), errors, firstError };
worker.finish(result);
