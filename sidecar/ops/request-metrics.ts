// Per-op request latency histograms and error counts, for `stats`. The
// buckets are fixed and log-scale, so two snapshots (or two sidecars) can be
// subtracted and summed the way Prometheus histograms are; a write's latency
// runs until its acknowledgement, i.e. until the file is durable.

/** Upper bounds (ms) of the latency buckets; one more, open-ended bucket holds everything slower. */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/** One op's latency distribution. */
export interface OpLatency {
  /** Requests answered. */
  count: number;
  /** Their total latency (ms). */
  sumMs: number;
  /**
   * counts[i]: requests slower than bucketsMs[i-1] and at most bucketsMs[i];
   * the last entry (index bucketsMs.length): slower than every bound.
   */
  counts: number[];
}

export interface LatencySnapshot {
  bucketsMs: number[];
  ops: Record<string, OpLatency>;
}

export class RequestMetrics {
  private readonly latency = new Map<string, OpLatency>();
  private readonly errors = new Map<string, Map<string, number>>();

  /** Records one answered request: its op, dispatch-to-answer time, and its error code when it failed. */
  observe(op: string, ms: number, errorCode?: string): void {
    let entry = this.latency.get(op);
    if (entry === undefined) {
      entry = emptyLatency();
      this.latency.set(op, entry);
    }
    observeLatency(entry, ms);
    if (errorCode === undefined) return;
    let byCode = this.errors.get(op);
    if (byCode === undefined) {
      byCode = new Map();
      this.errors.set(op, byCode);
    }
    byCode.set(errorCode, (byCode.get(errorCode) ?? 0) + 1);
  }

  /** Requests answered per op (successes and errors). */
  requestCounts(): Record<string, number> {
    return Object.fromEntries([...this.latency].map(([op, entry]) => [op, entry.count]));
  }

  /** Requests answered with an error, per op and error code. */
  errorCounts(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.errors].map(([op, byCode]) => [op, Object.fromEntries(byCode)]));
  }

  /** A copy of every op's histogram (later requests do not change it). */
  latencySnapshot(): LatencySnapshot {
    return {
      bucketsMs: [...LATENCY_BUCKETS_MS],
      ops: Object.fromEntries(
        [...this.latency].map(([op, entry]) => [op, copyLatency(entry)]),
      ),
    };
  }
}

/** A histogram with nothing in it, over LATENCY_BUCKETS_MS. */
export function emptyLatency(): OpLatency {
  return { count: 0, sumMs: 0, counts: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) };
}

/** Adds one duration (ms) to a histogram. */
export function observeLatency(entry: OpLatency, ms: number): void {
  entry.count++;
  entry.sumMs += ms;
  entry.counts[bucketIndex(ms)]!++;
}

/** A copy to hand out (later observations do not change it), the sum rounded to the microsecond. */
export function copyLatency(entry: OpLatency): OpLatency {
  return { count: entry.count, sumMs: Math.round(entry.sumMs * 1000) / 1000, counts: [...entry.counts] };
}

/** The first bucket whose upper bound is at least `ms` (bounds are inclusive, as Prometheus' `le`). */
export function bucketIndex(ms: number): number {
  for (let i = 0; i < LATENCY_BUCKETS_MS.length; i++) if (ms <= LATENCY_BUCKETS_MS[i]!) return i;
  return LATENCY_BUCKETS_MS.length;
}
