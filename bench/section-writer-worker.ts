// The writer of the "KeyRx freeze" and file-lag workloads: sets one key
// inside one section of a large document, again and again, one set at a time,
// for --duration-ms. With --wait-file-every N, every Nth set asks to be
// answered only once the config file holds it (waitForFile), timed apart from
// the others: the difference is the file's lag as a client sees it.
import { performance } from 'node:perf_hooks';
import { connect, type WriteOptions } from '../client/index.js';
import { LatencyHistogram, type HistogramData } from './latency-histogram.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

export interface SectionWriterResult {
  sets: number;
  elapsedMs: number;
  latency: HistogramData;
  errors: number;
  firstError?: string;
  /** The sets sent with waitForFile (not in `latency`); empty without --wait-file-every. */
  waitFileLatency: HistogramData;
}

const worker = startWorker('section-writer-worker', {
  socket: { type: 'string' },
  path: { type: 'string' },
  'duration-ms': { type: 'string', default: '10000' },
  'wait-file-every': { type: 'string', default: '0' },
});
const socketPath = stringArg(worker.values, 'socket');
const path = stringArg(worker.values, 'path');
const durationMs = numberArg(worker.values, 'duration-ms');
const waitFileEvery = numberArg(worker.values, 'wait-file-every');
/** Held in a variable, so it compiles against a client without the option (which ignores it and answers at commit). */
const waitForFile: WriteOptions & { waitForFile?: boolean } = { waitForFile: true };

const client = connect({ socketPath, name: 'bench-section-writer', defaultTimeoutMs: 30_000 });
await client.ready();
await worker.ready();

const latency = new LatencyHistogram();
const waitFileLatency = new LatencyHistogram();
let errors = 0;
let firstError: string | undefined;
const start = performance.now();
for (let i = 0; performance.now() - start < durationMs; i++) {
  const waitFile = waitFileEvery > 0 && i % waitFileEvery === waitFileEvery - 1;
  const t0 = performance.now();
  try {
    await client.set(path, `rewritten value number ${i}, same length as before`, waitFile ? waitForFile : {});
    (waitFile ? waitFileLatency : latency).record(performance.now() - t0);
  } catch (error) {
    errors++;
    firstError ??= error instanceof Error ? error.message : String(error);
  }
}
const elapsedMs = performance.now() - start;
client.close();

const result: SectionWriterResult = {
  sets: latency.size + waitFileLatency.size,
  elapsedMs,
  latency: latency.toData(),
  errors,
  firstError,
  waitFileLatency: waitFileLatency.toData(),
};
worker.finish(result);
