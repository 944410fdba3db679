// The last few versions of the document the file held (written by the
// sidecar or taken in from a hand edit), so a hand edit can be merged against
// the version it started from (three-way-merge.ts). Bounded in count and in
// bytes; documents are shared with the store (never copied).
import { diffValues } from '../protocol/index.js';
import type { JsonObject } from './document.js';

export interface VersionBounds {
  count: number;
  bytes: number;
}

/** 16 versions, at most 16 MiB of file text between them (the newest is always kept). */
export const DEFAULT_VERSION_BOUNDS: VersionBounds = { count: 16, bytes: 16 * 1024 * 1024 };

interface Kept {
  doc: JsonObject;
  bytes: number;
}

export class WrittenVersions {
  private kept: Kept[] = [];

  constructor(private readonly bounds: VersionBounds = DEFAULT_VERSION_BOUNDS) {}

  /** Records that the file now holds `doc` (`bytes` long). */
  add(doc: JsonObject, bytes: number): void {
    if (this.kept.at(-1)?.doc === doc) return;
    this.kept.push({ doc, bytes });
    let total = this.kept.reduce((sum, kept) => sum + kept.bytes, 0);
    while (this.kept.length > 1 && (this.kept.length > this.bounds.count || total > this.bounds.bytes)) total -= this.kept.shift()!.bytes;
  }

  /**
   * The kept version the edit most likely started from: the one it differs
   * from at the fewest paths; on a tie the newest. Undefined when none is kept.
   */
  baseFor(edit: JsonObject): JsonObject | undefined {
    let best: JsonObject | undefined;
    let bestDistance = Infinity;
    for (let i = this.kept.length - 1; i >= 0; i--) {
      const { doc } = this.kept[i]!;
      const distance = diffValues({ exists: true, value: doc }, { exists: true, value: edit }).length;
      if (distance < bestDistance) {
        best = doc;
        bestDistance = distance;
        if (distance === 0) break;
      }
    }
    return best;
  }

  get size(): number {
    return this.kept.length;
  }
}
