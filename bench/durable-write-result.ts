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

/** SQLite key of one write: section and key joined. */
export function sqlKey(workerIndex: number, seq: number): string {
  return `${workerSection(workerIndex)}.${writeKey(seq)}`;
}

/** A 32-character value, the same for every contender. */
export function writeValue(workerIndex: number, seq: number): string {
  return `value-${workerIndex}-${seq}`.padEnd(32, '.');
}
