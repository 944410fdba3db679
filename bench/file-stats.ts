// The sidecar's `stats.file` figures as benchmarks read them: which revision
// the config file holds, how long after its commit a write reached the file
// (a fixed-bucket histogram), rewrites and the journal's size. A sidecar
// whose file is written at commit has no `file` section: every reader here
// returns undefined then, and reports print "n/a".
import { z } from 'zod';
import { connect } from '../client/index.js';

const BucketHistogramSchema = z.object({
  bucketsMs: z.array(z.number()),
  count: z.number(),
  sumMs: z.number(),
  /** counts[i]: samples above bucketsMs[i-1] and at most bucketsMs[i]; the last entry: above every bound. */
  counts: z.array(z.number()),
});
export type BucketHistogram = z.infer<typeof BucketHistogramSchema>;

const FileStatsSchema = z.object({
  revision: z.number(),
  lag: BucketHistogramSchema,
  rewrites: z.number(),
  failedRewrites: z.number(),
  journalBytes: z.number(),
  journalPeakBytes: z.number(),
});
export type FileStats = z.infer<typeof FileStatsSchema>;

/** The part of `stats` the journal benchmarks use. */
export interface SidecarFileStats {
  revision: number;
  /** Undefined when the sidecar writes the file at commit (no checkpoint writer). */
  file: FileStats | undefined;
}

/** `stats.file` of a stats answer, or undefined when there is none (or it has another shape). */
export function fileStatsOf(stats: Record<string, unknown>): SidecarFileStats {
  const parsed = FileStatsSchema.safeParse(stats.file);
  return { revision: Number(stats.revision), file: parsed.success ? parsed.data : undefined };
}

/** One `stats` call on a fresh connection. */
export async function readFileStats(socketPath: string): Promise<SidecarFileStats> {
  const client = connect({ socketPath, name: 'bench-file-stats' });
  try {
    return fileStatsOf(await client.stats());
  } finally {
    client.close();
  }
}

/**
 * Waits until the config file holds the sidecar's current revision (polling
 * `stats`), so a benchmark can read the file as the sidecar's whole state.
 * Returns at once for a sidecar without a `file` section: its file is written at commit.
 */
export async function waitForFileCurrent(socketPath: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const stats = await readFileStats(socketPath);
    if (stats.file === undefined || stats.file.revision >= stats.revision) return;
    if (performance.now() > deadline) {
      throw new Error(`the config file still holds revision ${stats.file.revision} of ${stats.revision} after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The samples `after` has that `before` had not (both from one sidecar run, same buckets). */
export function histogramSince(after: BucketHistogram, before: BucketHistogram | undefined): BucketHistogram {
  if (before === undefined) return after;
  return {
    bucketsMs: after.bucketsMs,
    count: after.count - before.count,
    sumMs: after.sumMs - before.sumMs,
    counts: after.counts.map((n, i) => n - (before.counts[i] ?? 0)),
  };
}

/**
 * The p-th percentile of a bucket histogram, interpolated linearly inside its
 * bucket (as Prometheus' histogram_quantile does); Infinity when it falls in
 * the open bucket above the last bound, undefined for an empty histogram.
 */
export function bucketPercentile(h: BucketHistogram, p: number): number | undefined {
  if (h.count <= 0) return undefined;
  const rank = (p / 100) * h.count;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const n = h.counts[i] ?? 0;
    if (n > 0 && seen + n >= rank) {
      if (i >= h.bucketsMs.length) return Number.POSITIVE_INFINITY;
      const low = i === 0 ? 0 : h.bucketsMs[i - 1]!;
      const high = h.bucketsMs[i]!;
      return low + (high - low) * ((rank - seen) / n);
    }
    seen += n;
  }
  return Number.POSITIVE_INFINITY;
}

/** A bucket percentile for a report: milliseconds, "> last bound" for the open bucket, "n/a" when unknown. */
export function describeBucketMs(h: BucketHistogram, value: number | undefined): string {
  if (value === undefined) return 'n/a';
  if (value === Number.POSITIVE_INFINITY) return `> ${h.bucketsMs[h.bucketsMs.length - 1]}`;
  return value.toFixed(3);
}
