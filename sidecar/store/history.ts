// Recent revisions, so a watcher that reconnects can be replayed everything it
// missed (etcd's watch-from-revision). Kept: every revision from the last 10
// minutes and at least the last 10,000, within a memory budget; beyond that a
// resume is answered as compacted and the client resyncs from a snapshot.
// The budget is charged what an entry really keeps alive (retained-size.ts):
// a one-element set in a 100,000-element array holds the whole new array and
// its cached text, about 2 MB, not the few bytes of the request.
import type { CommittedRevision } from './commit-queue.js';
import { retainedBytes } from './retained-size.js';

export interface HistoryOptions {
  minEntries: number;
  minAgeMs: number;
  /** Upper bound on the heap the held revisions keep alive (an upper estimate); trimmed oldest-first past it. */
  maxBytes: number;
  now?: () => number;
}

export const DEFAULT_HISTORY: HistoryOptions = { minEntries: 10_000, minAgeMs: 10 * 60_000, maxBytes: 64 * 1024 * 1024 };

interface Entry extends CommittedRevision {
  at: number;
  /** What holding this entry costs, as charged to the budget. */
  cost: number;
}

/** The heap one held revision keeps alive, at most: its changed values, their paths and the entry itself. */
export function revisionCost(revision: CommittedRevision): number {
  let bytes = ENTRY_BYTES;
  for (const change of revision.changes) bytes += retainedBytes(change.segments) + (change.deleted ? 0 : retainedBytes(change.value));
  return bytes;
}

const ENTRY_BYTES = 160; // the entry, its change list and each change record

export class History {
  private entries: (Entry | undefined)[] = [];
  private head = 0; // index of the oldest live entry (entries before it are trimmed lazily)
  private bytes = 0;
  private readonly now: () => number;

  /** `firstRevision` is the revision the history starts after (the one loaded at start). */
  constructor(
    private firstRevision: number,
    private readonly options: HistoryOptions = DEFAULT_HISTORY,
  ) {
    this.now = options.now ?? Date.now;
  }

  append(revisions: readonly CommittedRevision[]): void {
    const at = this.now();
    for (const revision of revisions) {
      const cost = revisionCost(revision);
      this.entries.push({ ...revision, at, cost });
      this.bytes += cost;
    }
    this.trim();
  }

  /**
   * The revisions after `afterRevision` up to the newest, or undefined when
   * some of them are no longer held (compacted).
   */
  since(afterRevision: number): readonly CommittedRevision[] | undefined {
    const oldestHeld = this.entries[this.head]?.revision;
    const compactedThrough = oldestHeld === undefined ? this.firstRevision : oldestHeld - 1;
    if (afterRevision < compactedThrough) return undefined;
    const out: CommittedRevision[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.revision > afterRevision) out.push(entry);
    }
    return out;
  }

  private trim(): void {
    const now = this.now();
    const { minEntries, minAgeMs, maxBytes } = this.options;
    while (this.head < this.entries.length) {
      const live = this.entries.length - this.head;
      const oldest = this.entries[this.head]!;
      const keepForCount = live <= minEntries;
      const keepForAge = now - oldest.at < minAgeMs;
      if (this.bytes <= maxBytes && (keepForCount || keepForAge)) break;
      this.bytes -= oldest.cost;
      this.firstRevision = oldest.revision;
      // The slot is emptied at once: a trimmed entry must not keep its values alive until the compaction below.
      this.entries[this.head++] = undefined;
    }
    // Compact the array once the trimmed prefix dominates, so memory follows the live entries.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
