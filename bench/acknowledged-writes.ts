// The check every durable-set contender ends with: each acknowledged write
// is in the final document or table. New keys: every acknowledged key is
// there. Overwrites: every key holds its newest acknowledged value, or a
// later value whose write failed (its outcome is unknown, so either is right).
import { type DurableWorkerResult, type KeyLayout, documentPath, writeValue } from './durable-write-result.js';

export interface Verification {
  /** Keys found in the final file or table. */
  keysFound: number;
  /** Acknowledged writes missing from the final file or table (overwrites: keys without their newest acknowledged value). */
  lost: number;
  /** Writes that failed (not acknowledged); their outcome may be either. */
  failed: number;
}

/** Counts acknowledged writes missing from `present(workerIndex, seq)`. */
export function verify(workers: DurableWorkerResult[], keysFound: number, present: (workerIndex: number, seq: number) => boolean): Verification {
  let lost = 0;
  let failed = 0;
  for (const w of workers) {
    const failedSeqs = new Set(w.failed.map((f) => f.seq));
    failed += failedSeqs.size;
    for (let seq = 0; seq < w.issued; seq++) {
      if (!failedSeqs.has(seq) && !present(w.workerIndex, seq)) lost++;
    }
  }
  return { keysFound, lost, failed };
}

export function verifyJsonDocument(workers: DurableWorkerResult[], text: string, layout: KeyLayout): Verification {
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (layout.keySpace > 0) return verifyOverwrites(workers, doc, layout);
  return verify(workers, countLeaves(doc), (i, seq) => valueAt(doc, documentPath(i, seq, layout)) !== undefined);
}

/**
 * Overwrites: every key must hold the newest acknowledged write to it, or a
 * later write whose outcome is unknown (it failed). One connection's writes
 * commit in the order sent, so the newest acknowledged is the last one applied.
 */
function verifyOverwrites(workers: DurableWorkerResult[], doc: Record<string, unknown>, layout: KeyLayout): Verification {
  let lost = 0;
  let failed = 0;
  for (const w of workers) {
    const failedSeqs = new Set(w.failed.map((f) => f.seq));
    failed += failedSeqs.size;
    for (let slot = 0; slot < layout.keySpace; slot++) {
      const acceptable: number[] = [];
      for (let seq = slot; seq < w.issued; seq += layout.keySpace) {
        if (!failedSeqs.has(seq)) acceptable.length = 0; // earlier values are superseded by an acknowledged one
        acceptable.push(seq);
      }
      if (acceptable.length === 0 || failedSeqs.has(acceptable[0]!)) continue; // nothing acknowledged for this key
      const found = valueAt(doc, documentPath(w.workerIndex, slot, layout));
      if (!acceptable.some((seq) => found === writeValue(w.workerIndex, seq))) lost++;
    }
  }
  return { keysFound: countLeaves(doc), lost, failed };
}

/** Number of non-object values in a document: one per write. */
function countLeaves(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 1;
  let n = 0;
  for (const child of Object.values(value)) n += countLeaves(child);
  return n;
}

function valueAt(doc: unknown, segments: readonly string[]): unknown {
  let node = doc;
  for (const segment of segments) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
