// What every durable-set contender's worker reports, and the key/value scheme
// they share, so the runner can check each acknowledged write is in the final
// file or table (zero lost writes) the same way for all three.
import type { HistogramData } from './latency-histogram.js';

export interface DurableWorkerResult {
  workerIndex: number;
  /** Sequence numbers 0 .. issued-1 were attempted. */
  issued: number;
  /** Attempted writes that were not acknowledged, with the error code or message. */
  failed: { seq: number; error: string }[];
  /** Writes acknowledged as durable. */
  acked: number;
  /** From go to the last acknowledgement. */
  elapsedMs: number;
  /** Acknowledgements in each second from go. */
  ackedPerSecond: number[];
  latency: HistogramData;
}

/** Top-level object (sidecar, lock file) of one worker's keys. */
export function workerSection(workerIndex: number): string {
  return `w${workerIndex}`;
}

/** Key of one write inside its worker's section. */
export function writeKey(seq: number): string {
  return `k${seq}`;
}

/**
 * Path segments of one write in a JSON document: `w<i>.k<seq>`, or with
 * `bucketSize` > 0 `w<i>.b<seq / bucketSize>.k<seq>`, so no object grows past
 * `bucketSize` keys.
 */
export function documentPath(workerIndex: number, seq: number, bucketSize: number): string[] {
  const section = workerSection(workerIndex);
  return bucketSize > 0 ? [section, `b${Math.floor(seq / bucketSize)}`, writeKey(seq)] : [section, writeKey(seq)];
}

/** SQLite key of one write: section and key joined. */
export function sqlKey(workerIndex: number, seq: number): string {
  return `${workerSection(workerIndex)}.${writeKey(seq)}`;
}

/** A 32-character value, the same for every contender. */
export function writeValue(workerIndex: number, seq: number): string {
  return `value-${workerIndex}-${seq}`.padEnd(32, '.');
}

/** Counts acknowledgements per second since `start` (performance.now() times). */
export class AckSeries {
  readonly perSecond: number[] = [];
  constructor(private readonly start: number) {}
  add(at: number): void {
    const second = Math.floor((at - this.start) / 1000);
    this.perSecond[second] = (this.perSecond[second] ?? 0) + 1;
  }
  toArray(): number[] {
    return Array.from(this.perSecond, (n) => n ?? 0);
  }
}
