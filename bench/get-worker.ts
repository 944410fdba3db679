// Load process for reads. Talks to the raw echo baseline or the sidecar,
// through the thin framed client or the real client library (`replica`: its
// get() answered from a local replica; `replica-sync`: getSync, timed one
// call at a time without awaiting), in one of three shapes:
//   serial     one request at a time, --count after --warmup (latency)
//   pipelined  --in-flight requests kept outstanding for --duration-ms after
//              --warmup-ms (throughput)
//   paced      about one request every --interval-ms for --duration-ms
//              (latency while something else loads the server; a reader that
//              falls behind sends the next request at once)
import { performance } from 'node:perf_hooks';
import { connect } from '../client/index.js';
import { FramedClient } from './framed-client.js';
import { LatencyHistogram, type HistogramData } from './latency-histogram.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

export interface GetWorkerResult {
  /** Requests measured (after warm-up). */
  count: number;
  /** Wall time of the measured part. */
  elapsedMs: number;
  latency: HistogramData;
  errors: number;
  firstError?: string;
  /** Synchronous reads only: exact percentiles in ns (the histogram stops at 1 µs), and the clock's own cost. */
  nanos?: { p50: number; p99: number; clockP50: number };
}

const worker = startWorker('get-worker', {
  socket: { type: 'string' },
  client: { type: 'string', default: 'library' },
  mode: { type: 'string', default: 'serial' },
  path: { type: 'string' },
  count: { type: 'string', default: '20000' },
  warmup: { type: 'string', default: '2000' },
  'in-flight': { type: 'string', default: '32' },
  'duration-ms': { type: 'string', default: '5000' },
  'warmup-ms': { type: 'string', default: '1000' },
  'interval-ms': { type: 'string', default: '1' },
});
const args = worker.values;
const socketPath = stringArg(args, 'socket');
const path = stringArg(args, 'path');
const clientKind = stringArg(args, 'client');
const mode = stringArg(args, 'mode');

let getOnce: () => Promise<unknown>;
let getSync: (() => unknown) | undefined;
let close: () => void;
if (clientKind === 'framed') {
  const framed = await FramedClient.connect(socketPath);
  getOnce = () => framed.request({ op: 'get', path });
  close = () => framed.close();
} else if (clientKind === 'library') {
  const client = connect({ socketPath, name: 'bench-get' });
  await client.ready();
  getOnce = () => client.get(path);
  close = () => client.close();
} else if (clientKind === 'replica' || clientKind === 'replica-sync') {
  const client = connect({ socketPath, name: 'bench-replica', replica: true });
  await client.synced();
  getOnce = () => client.get(path);
  if (clientKind === 'replica-sync') getSync = () => client.getSync(path);
  close = () => client.close();
} else {
  throw new Error(`--client must be framed, library, replica or replica-sync, not ${clientKind}`);
}
// Prove the path answers before the clock starts.
await getOnce();

let errors = 0;
let firstError: string | undefined;
const noteError = (error: unknown) => {
  errors++;
  firstError ??= error instanceof Error ? error.message : String(error);
};

await worker.ready();
let result: GetWorkerResult;
if (mode === 'serial' && getSync !== undefined) result = serialSync(getSync, numberArg(args, 'count'), numberArg(args, 'warmup'));
else if (mode === 'serial') result = await serial(numberArg(args, 'count'), numberArg(args, 'warmup'));
else if (mode === 'pipelined') result = await pipelined(numberArg(args, 'in-flight'), numberArg(args, 'warmup-ms'), numberArg(args, 'duration-ms'));
else if (mode === 'paced') result = await paced(numberArg(args, 'interval-ms'), numberArg(args, 'duration-ms'));
else throw new Error(`--mode must be serial, pipelined or paced, not ${mode}`);
close();
worker.finish(result);

async function serial(count: number, warmup: number): Promise<GetWorkerResult> {
  for (let i = 0; i < warmup; i++) await getOnce().catch(noteError);
  errors = 0;
  const latency = new LatencyHistogram();
  const start = performance.now();
  for (let i = 0; i < count; i++) await timedGet(latency);
  return { count: latency.size, elapsedMs: performance.now() - start, latency: latency.toData(), errors, firstError };
}

/** Synchronous reads, each timed alone (the clock's own cost, tens of ns, is included). */
function serialSync(read: () => unknown, count: number, warmup: number): GetWorkerResult {
  for (let i = 0; i < warmup; i++) read();
  const latency = new LatencyHistogram();
  const samples = new Float64Array(count);
  const clock = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    clock[i] = performance.now() - t0;
  }
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    try {
      read();
      samples[i] = performance.now() - t0;
      latency.record(samples[i]!);
    } catch (error) {
      noteError(error);
    }
  }
  const elapsedMs = performance.now() - start;
  const percentileNs = (values: Float64Array, q: number) => Math.round(values.sort()[Math.min(values.length - 1, Math.floor(q * values.length))]! * 1e6);
  const nanos = { p50: percentileNs(samples, 0.5), p99: percentileNs(samples, 0.99), clockP50: percentileNs(clock, 0.5) };
  return { count: latency.size, elapsedMs, latency: latency.toData(), errors, firstError, nanos };
}

/** One get, its latency recorded; a failure is counted instead. */
async function timedGet(latency: LatencyHistogram): Promise<void> {
  const t0 = performance.now();
  try {
    await getOnce();
    latency.record(performance.now() - t0);
  } catch (error) {
    noteError(error);
  }
}

async function pipelined(inFlight: number, warmupMs: number, durationMs: number): Promise<GetWorkerResult> {
  const latency = new LatencyHistogram();
  const measureFrom = performance.now() + warmupMs;
  const measureUntil = measureFrom + durationMs;
  const lane = async () => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= measureUntil) return;
      try {
        await getOnce();
        const t1 = performance.now();
        if (t0 >= measureFrom && t1 <= measureUntil) latency.record(t1 - t0);
      } catch (error) {
        if (t0 >= measureFrom) noteError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { count: latency.size, elapsedMs: durationMs, latency: latency.toData(), errors, firstError };
}

async function paced(intervalMs: number, durationMs: number): Promise<GetWorkerResult> {
  const latency = new LatencyHistogram();
  const start = performance.now();
  for (let i = 0; ; i++) {
    const scheduled = start + i * intervalMs;
    if (scheduled >= start + durationMs) break;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await timedGet(latency);
  }
  return { count: latency.size, elapsedMs: performance.now() - start, latency: latency.toData(), errors, firstError };
}
