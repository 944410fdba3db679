// Recent revisions, so a watcher that reconnects can be replayed everything it
// missed (etcd's watch-from-revision). Kept: every revision from the last 10
// minutes and at least the last 10,000, within a memory budget; beyond that a
// resume is answered as compacted and the client resyncs from a snapshot.
import type { CommittedRevision } from './commit-queue.js';

export interface HistoryOptions {
  minEntries: number;
  minAgeMs: number;
  /** Upper bound on the (approximate) bytes of values held; trimmed oldest-first past it. */
  maxBytes: number;
  now?: () => number;
}

export const DEFAULT_HISTORY: HistoryOptions = { minEntries: 10_000, minAgeMs: 10 * 60_000, maxBytes: 64 * 1024 * 1024 };

interface Entry extends CommittedRevision {
  at: number;
}

export class History {
  private entries: Entry[] = [];
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
      this.entries.push({ ...revision, at });
      this.bytes += revision.bytes + 64;
    }
    this.trim();
  }

  /**
   * The revisions after `afterRevision` up to the newest, or undefined when
   * some of them are no longer held (compacted).
   */
  since(afterRevision: number): readonly CommittedRevision[] | undefined {
    const oldestHeld = this.head < this.entries.length ? this.entries[this.head]!.revision : undefined;
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
      this.bytes -= oldest.bytes + 64;
      this.firstRevision = oldest.revision;
      this.head++;
    }
    // Compact the array once the trimmed prefix dominates, so memory follows the live entries.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
