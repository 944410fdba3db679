// Latency recording for benchmark workers: a log-bucketed histogram (1%
// relative precision) that is small to send between processes and can be
// merged, so percentiles over several client processes are exact to within a
// bucket instead of being an average of per-process percentiles.

/** Relative width of one bucket: values within 1% share a bucket. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Values are bucketed in microseconds; anything under 1 µs goes to bucket 0. */
const US_PER_MS = 1000;

/** A histogram as it crosses a process boundary (JSON). */
export interface HistogramData {
  /** [bucket index, count] pairs, sparse. */
  buckets: [number, number][];
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
}

/** What reports show of a latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private count = 0;
  private sumMs = 0;
  private minMs = Number.POSITIVE_INFINITY;
  private maxMs = 0;

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    const us = ms * US_PER_MS;
    const index = us < 1 ? 0 : Math.floor(Math.log(us) / LOG_GROWTH) + 1;
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
    this.count++;
    this.sumMs += ms;
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  get size(): number {
    return this.count;
  }

  /** Adds another histogram's samples to this one. */
  merge(data: HistogramData): this {
    for (const [index, n] of data.buckets) this.counts.set(index, (this.counts.get(index) ?? 0) + n);
    this.count += data.count;
    this.sumMs += data.sumMs;
    if (data.count > 0) {
      this.minMs = Math.min(this.minMs, data.minMs);
      this.maxMs = Math.max(this.maxMs, data.maxMs);
    }
    return this;
  }

  static from(data: HistogramData): LatencyHistogram {
    return new LatencyHistogram().merge(data);
  }

  static mergeAll(all: readonly HistogramData[]): LatencyHistogram {
    const merged = new LatencyHistogram();
    for (const data of all) merged.merge(data);
    return merged;
  }

  toData(): HistogramData {
    return {
      buckets: [...this.counts.entries()].sort((a, b) => a[0] - b[0]),
      count: this.count,
      sumMs: this.sumMs,
      minMs: this.count === 0 ? 0 : this.minMs,
      maxMs: this.maxMs,
    };
  }

  /** The value below which `p` percent of the samples fall (bucket midpoint, clamped to min/max). */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (const [index, n] of [...this.counts.entries()].sort((a, b) => a[0] - b[0])) {
      seen += n;
      if (seen >= rank) {
        const lowUs = index === 0 ? 0 : GROWTH ** (index - 1);
        const highUs = GROWTH ** index;
        const mid = (lowUs + highUs) / 2 / US_PER_MS;
        return Math.min(this.maxMs, Math.max(this.minMs, mid));
      }
    }
    return this.maxMs;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      meanMs: round(this.count === 0 ? 0 : this.sumMs / this.count),
      p50Ms: round(this.percentile(50)),
      p90Ms: round(this.percentile(90)),
      p99Ms: round(this.percentile(99)),
      p999Ms: round(this.percentile(99.9)),
      maxMs: round(this.maxMs),
    };
  }
}

/** Rounds a millisecond figure to microseconds for reports. */
export function round(ms: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(ms * f) / f;
}
