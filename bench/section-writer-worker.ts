// The writer of the "KeyRx freeze" and file-lag workloads: sets one key
// inside one section of a large document, again and again, one set at a time,
// for --duration-ms. With --wait-file-path, a second loop beside it sets that
// key, one set at a time, each answered only once the config file holds it
// (waitForFile) and timed apart: against the plain sets, the file's lag as a
// client sees it, without slowing the first loop down.
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
  /** The second loop's sets, sent with waitForFile (not in `latency`); empty without --wait-file-path. */
  waitFileLatency: HistogramData;
}

const worker = startWorker('section-writer-worker', {
  socket: { type: 'string' },
  path: { type: 'string' },
  'duration-ms': { type: 'string', default: '10000' },
  'wait-file-path': { type: 'string' },
});
const socketPath = stringArg(worker.values, 'socket');
const path = stringArg(worker.values, 'path');
const durationMs = numberArg(worker.values, 'duration-ms');
const waitFilePath = worker.values['wait-file-path'];

const client = connect({ socketPath, name: 'bench-section-writer', defaultTimeoutMs: 30_000 });
await client.ready();
await worker.ready();

const latency = new LatencyHistogram();
const waitFileLatency = new LatencyHistogram();
let errors = 0;
let firstError: string | undefined;
const start = performance.now();
const loop = async (target: string, histogram: LatencyHistogram, waitForFile: boolean) => {
  for (let i = 0; performance.now() - start < durationMs; i++) {
    const t0 = performance.now();
    try {
      await client.set(target, `rewritten value number ${i}, same length as before`, { waitForFile });
      histogram.record(performance.now() - t0);
    } catch (error) {
      errors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
};
await Promise.all([loop(path, latency, false), typeof waitFilePath === 'string' ? loop(waitFilePath, waitFileLatency, true) : undefined]);
const elapsedMs = performance.now() - start;
client.close();

const result: SectionWriterResult = {
  sets: latency.size,
  elapsedMs,
  latency: latency.toData(),
  errors,
  firstError,
  waitFileLatency: waitFileLatency.toData(),
};
worker.finish(result);
