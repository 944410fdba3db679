// What every durable-set contender's worker reports, and the key/value scheme
// they share, so the runner can check each acknowledged write is in the final
// file or table (zero lost writes) the same way for all three.
import { performance } from 'node:perf_hooks';
import { LatencyHistogram, type HistogramData } from './latency-histogram.js';

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

/** Where a sidecar contender's writes go in its document. */
export interface KeyLayout {
  /** > 0: keys grouped `bucketSize` to an object (`w<i>.b<seq / bucketSize>.k<seq>`), so no object grows past it. */
  bucketSize: number;
  /** > 0: write `seq` overwrites key `k<seq % keySpace>`, so the document keeps a config's size. */
  keySpace: number;
}

export const NEW_KEY_EVERY_WRITE: KeyLayout = { bucketSize: 0, keySpace: 0 };

/**
 * Path segments of one write in a JSON document: `w<i>.k<seq>`, `w<i>.b<seq /
 * bucketSize>.k<seq>` or `w<i>.k<seq % keySpace>` (see KeyLayout).
 */
export function documentPath(workerIndex: number, seq: number, layout: KeyLayout): string[] {
  const section = workerSection(workerIndex);
  if (layout.keySpace > 0) return [section, writeKey(seq % layout.keySpace)];
  return layout.bucketSize > 0 ? [section, `b${Math.floor(seq / layout.bucketSize)}`, writeKey(seq)] : [section, writeKey(seq)];
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

export interface TimedWrites {
  workerIndex: number;
  durationMs: number;
  /** Writes kept in flight at once (1 for the synchronous contenders). */
  lanes: number;
  /** Makes write `seq` durable; resolves when it is acknowledged. */
  write(seq: number): unknown;
  /** How a failed write is reported (default: its error code, else its text). */
  describeError?(error: unknown): string;
  /** Ends the run before its duration (the server is gone): no further write is issued. */
  stopped?(): boolean;
}

/**
 * The measuring loop every contender shares: `lanes` loops issue writes with
 * increasing sequence numbers for `durationMs`, timing each one and counting
 * acknowledgements per second.
 */
export async function runTimedWrites(options: TimedWrites): Promise<DurableWorkerResult> {
  const describe = options.describeError ?? ((error: unknown) => (error as { code?: string }).code ?? String(error));
  const latency = new LatencyHistogram();
  const failed: DurableWorkerResult['failed'] = [];
  let next = 0;
  let acked = 0;
  let lastAck = 0;
  const start = performance.now();
  const stopAt = start + options.durationMs;
  const series = new AckSeries(start);
  const lane = async () => {
    while (performance.now() < stopAt && options.stopped?.() !== true) {
      const seq = next++;
      const t0 = performance.now();
      try {
        await options.write(seq);
        lastAck = performance.now();
        latency.record(lastAck - t0);
        series.add(lastAck);
        acked++;
      } catch (error) {
        failed.push({ seq, error: describe(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: options.lanes }, lane));
  return {
    workerIndex: options.workerIndex,
    issued: next,
    failed,
    acked,
    elapsedMs: (lastAck || performance.now()) - start,
    ackedPerSecond: series.toArray(),
    latency: latency.toData(),
  };
}
