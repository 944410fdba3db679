// The file-lag floor: the sidecar's I/O for a commit and a checkpoint, with
// nothing else. One loop appends a 100-byte record to a journal and
// fdatasyncs it, one at a time (a commit); beside it another replaces a file
// of --bytes back to back (temp write, fdatasync, rename, directory fsync: a
// rewrite). A commit's lag is the time until the first rewrite that started
// after it has ended: what any implementation doing these steps would show on
// this disk. Usage: node lag-floor-worker.js --dir D --bytes N --duration-ms T.
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { LatencyHistogram, type HistogramData } from './latency-histogram.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

export interface LagFloorResult {
  commits: number;
  rewrites: number;
  lag: HistogramData;
}

const worker = startWorker('lag-floor-worker', { dir: { type: 'string' }, bytes: { type: 'string' }, 'duration-ms': { type: 'string' } });
const dir = stringArg(worker.values, 'dir');
const bytes = numberArg(worker.values, 'bytes');
const durationMs = numberArg(worker.values, 'duration-ms');

const journal = await open(path.join(dir, 'journal'), 'a', 0o600);
const record = Buffer.alloc(100, 0x62);
const text = Buffer.alloc(bytes, 0x61);
await worker.ready();

const commits: number[] = [];
const rewrites: [start: number, end: number][] = [];
const start = performance.now();
const running = () => performance.now() - start < durationMs;
const commitLoop = async () => {
  while (running()) {
    await journal.write(record);
    await journal.datasync();
    commits.push(performance.now());
  }
};
const rewriteLoop = async () => {
  for (let i = 0; running(); i++) {
    const began = performance.now();
    const temp = path.join(dir, `config.json.tmp-${i}`);
    const handle = await open(temp, 'wx', 0o600);
    await handle.write(text, 0, text.length);
    await handle.datasync();
    await handle.close();
    await rename(temp, path.join(dir, 'config.json'));
    const directory = await open(dir, 'r');
    await directory.sync();
    await directory.close();
    rewrites.push([began, performance.now()]);
  }
};
await Promise.all([commitLoop(), rewriteLoop()]);
await journal.close();

const lag = new LatencyHistogram();
let next = 0;
for (const at of commits) {
  while (next < rewrites.length && rewrites[next]![0] < at) next++;
  if (next < rewrites.length) lag.record(rewrites[next]![1] - at);
}
const result: LagFloorResult = { commits: commits.length, rewrites: rewrites.length, lag: lag.toData() };
worker.finish(result);
