// Workload 7: file lag — how long after a set is acknowledged (its journal
// record durable) the config file holds it, when the file is rewritten in
// the background. For each document size (config-sized, 1 MB, 10 MB): a
// realistic document is loaded, then one writer process sets one key in a
// loop, one set at a time, for --lag-ms. Measured two ways, in the same run:
//   inside   the sidecar's stats.file.lag histogram (commit → file durable
//            with it), counted over the writer's run only
//   outside  beside that loop, the same process sets another key, one set at
//            a time, each with waitForFile: its latency against the plain
//            sets' is what a client waiting for the file pays
// A sidecar that writes the file at each commit has no lag to report: "n/a".
import path from 'node:path';
import { makeTempDir, removeTempDir, runWorkers } from './bench-processes.js';
import type { LagFloorResult } from './lag-floor-worker.js';
import { sidecarWithDocument } from './document-load.js';
import { bucketPercentile, describeBucketMs, histogramSince, readFileStats, type BucketHistogram } from './file-stats.js';
import { LatencyHistogram, round, type LatencySummary } from './latency-histogram.js';
import { keyName, sectionName } from './realistic-config.js';
import type { SectionWriterResult } from './section-writer-worker.js';
import { markdownTable, ms, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface FileLagOptions {
  sizesBytes: number[];
  sections: number;
  /** How long the writer sets, per size. */
  lagMs: number;
}

interface SizeLag {
  targetBytes: number;
  sets: number;
  /** Plain sets: answered at commit. */
  setLatency: LatencySummary;
  /** The other key's sets, sent with waitForFile. */
  waitFileLatency: LatencySummary;
  /** stats.file.lag over the writer's run; undefined when the sidecar has no checkpoint writer. */
  lag: { histogram: BucketHistogram; p50Ms: number | undefined; p99Ms: number | undefined; rewrites: number } | undefined;
  errors: number;
  firstError?: string;
}

/** A real config's size: about the durable workload's config-sized file (800 keys, ~37 KiB). */
export const CONFIG_BYTES = 40 * 1024;
const LAG_P99_GOAL_MS = 10;
const WRITE_PATH = `${sectionName(5)}.${keyName(2)}`;
const WAIT_FILE_PATH = `${sectionName(6)}.${keyName(2)}`;

export async function runFileLag(options: FileLagOptions): Promise<WorkloadReport> {
  const sizes: SizeLag[] = [];
  for (const targetBytes of options.sizesBytes) sizes.push(await runSize(targetBytes, options));
  const floor = options.sizesBytes.includes(CONFIG_BYTES) ? await runFloor(CONFIG_BYTES, options.lagMs) : undefined;

  const goals: Goal[] = sizes.map((s) => {
    const label = sizeLabel(s.targetBytes);
    if (s.targetBytes > CONFIG_BYTES) {
      return { goal: `file lag (acknowledgement → file holds it), ${label} document: p50 / p99 (reported)`, measured: describeLag(s), pass: null };
    }
    return {
      goal: `file lag (acknowledgement → file holds it), ${label} document: p99 ≤ ${LAG_P99_GOAL_MS} ms`,
      measured: describeLag(s),
      pass: s.lag?.p99Ms === undefined ? null : s.lag.p99Ms <= LAG_P99_GOAL_MS,
    };
  });
  if (floor !== undefined) {
    goals.push({
      goal: `floor: the same I/O alone, one process (journal append + fdatasync beside back-to-back durable replacement of a ${sizeLabel(CONFIG_BYTES)} file) (reported)`,
      measured: `lag p50 ${ms(floor.lag.p50Ms)} / p99 ${ms(floor.lag.p99Ms)} ms (${whole(floor.rewrites)} replacements beside ${whole(floor.commits)} appends)`,
      pass: null,
    });
  }
  const errors = sizes.reduce((n, s) => n + s.errors, 0);
  goals.push({ goal: 'file-lag workload: no failed sets', measured: `${errors} errors${sizes.find((s) => s.firstError)?.firstError ? ` (first: ${sizes.find((s) => s.firstError)!.firstError})` : ''}`, pass: errors === 0 });

  const rows = sizes.map((s) => [
    sizeLabel(s.targetBytes),
    whole(s.sets),
    ms(s.setLatency.p50Ms),
    ms(s.setLatency.p99Ms),
    s.lag === undefined ? 'n/a' : describeBucketMs(s.lag.histogram, s.lag.p50Ms),
    s.lag === undefined ? 'n/a' : describeBucketMs(s.lag.histogram, s.lag.p99Ms),
    s.lag === undefined ? 'n/a' : whole(s.lag.rewrites),
    s.waitFileLatency.count === 0 ? 'n/a' : `${ms(s.waitFileLatency.p50Ms)} / ${ms(s.waitFileLatency.p99Ms)}`,
  ]);
  const markdown = [
    `One writer process sets \`${WRITE_PATH}\` of a realistic document (${options.sections} sections) in a loop, one set at a time, ` +
      `${options.lagMs / 1000} s per size. File lag is the sidecar's \`stats.file.lag\` histogram (from a write's commit until the file holds it), ` +
      `counted over the writer's run; its percentiles are interpolated inside fixed buckets (…, 5, 10, 25, 50 ms, …). ` +
      `Beside that loop, the same process sets \`${WAIT_FILE_PATH}\` one set at a time with \`waitForFile\`, timed apart: the same lag seen from a client. ` +
      `The floor (bench/lag-floor-worker.ts) does the same I/O with nothing else: journal appends with fdatasync, one at a time, beside back-to-back ` +
      `replacements of a file of the config size (temp write, fdatasync, rename, directory fsync); a commit's lag is until the first replacement begun after it ends.`,
    '',
    markdownTable(
      ['document', 'sets', 'set p50 ms', 'set p99 ms', 'file lag p50 ms', 'file lag p99 ms', 'file rewrites', 'set with waitForFile p50 / p99 ms'],
      rows,
    ),
  ].join('\n');
  return { key: 'fileLag', title: '7. File lag: acknowledgement → the config file holds it', data: { options, writePath: WRITE_PATH, waitFilePath: WAIT_FILE_PATH, sizes, floor }, markdown, goals };
}

/** The lag of the bare I/O (bench/lag-floor-worker.ts) for a file of `bytes`. */
async function runFloor(bytes: number, durationMs: number): Promise<{ commits: number; rewrites: number; lag: LatencySummary }> {
  const dir = await makeTempDir();
  try {
    const [result] = await runWorkers<LagFloorResult>([{ script: 'lag-floor-worker.js', args: ['--dir', dir, '--bytes', String(bytes), '--duration-ms', String(durationMs)] }], durationMs + 60_000);
    return { commits: result!.commits, rewrites: result!.rewrites, lag: LatencyHistogram.from(result!.lag).summary() };
  } finally {
    await removeTempDir(dir);
  }
}

function sizeLabel(bytes: number): string {
  return bytes <= CONFIG_BYTES ? `config-sized (${Math.round(bytes / 1024)} KB)` : `${round(bytes / (1024 * 1024), 1)} MB`;
}

function describeLag(s: SizeLag): string {
  if (s.lag === undefined) return 'n/a (the sidecar reports no stats.file: its file is written at each commit)';
  const outside = s.waitFileLatency.count === 0 ? '' : `; from a client: set with waitForFile p50 ${ms(s.waitFileLatency.p50Ms)} ms vs ${ms(s.setLatency.p50Ms)} ms without`;
  return `p50 ${describeBucketMs(s.lag.histogram, s.lag.p50Ms)} / p99 ${describeBucketMs(s.lag.histogram, s.lag.p99Ms)} ms over ${whole(s.lag.histogram.count)} writes${outside}`;
}

async function runSize(targetBytes: number, options: FileLagOptions): Promise<SizeLag> {
  const { dir, socketPath, sidecar } = await sidecarWithDocument(targetBytes, options.sections);
  try {
    const before = await readFileStats(socketPath);
    // Without a checkpoint writer there is no lag to see from outside either: no second loop.
    const waitFile = before.file === undefined ? [] : ['--wait-file-path', WAIT_FILE_PATH];
    const [writer] = await runWorkers<SectionWriterResult>(
      [{ script: 'section-writer-worker.js', args: ['--socket', socketPath, '--path', WRITE_PATH, '--duration-ms', String(options.lagMs), ...waitFile] }],
      options.lagMs + 120_000,
    );
    const after = await readFileStats(socketPath);
    await sidecar.stop();
    let lag: SizeLag['lag'];
    if (before.file !== undefined && after.file !== undefined) {
      const histogram = histogramSince(after.file.lag, before.file.lag);
      lag = { histogram, p50Ms: bucketPercentile(histogram, 50), p99Ms: bucketPercentile(histogram, 99), rewrites: after.file.rewrites - before.file.rewrites };
    }
    return {
      targetBytes,
      sets: writer!.sets,
      setLatency: LatencyHistogram.from(writer!.latency).summary(),
      waitFileLatency: LatencyHistogram.from(writer!.waitFileLatency).summary(),
      lag,
      errors: writer!.errors,
      firstError: writer!.firstError,
    };
  } finally {
    await sidecar.kill9();
    await removeTempDir(dir);
  }
}
