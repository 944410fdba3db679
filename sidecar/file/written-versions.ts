// The last few versions of the document the file held (written by the
// sidecar or taken in from a hand edit), so a hand edit can be merged against
// the version it started from (three-way-merge.ts). Bounded in count and in
// bytes. A large version the sidecar wrote (rendered by the renderer thread)
// is kept as its file text, read again only when an edit comes: the store
// changes its committed document in place (commit-queue.ts), and keeping one
// would cost a copy of every large object per rewrite. Other versions are
// kept as documents (a snapshot of the store's, or a hand edit's as read).
import { diffValues } from '../../protocol/index.js';
import type { JsonObject } from '../store/document.js';

export interface VersionBounds {
  count: number;
  bytes: number;
}

/** 64 versions, at most 16 MiB of file text between them (the newest is always kept). */
export const DEFAULT_VERSION_BOUNDS: VersionBounds = { count: 64, bytes: 16 * 1024 * 1024 };

/** Reads a kept file text back into its document (undefined if it does not read as one: never the case for a text the sidecar wrote). */
export type ReadText = (text: Buffer) => JsonObject | undefined;

interface Kept {
  /** The document, or the file text it is read from when an edit comes. */
  version: JsonObject | Buffer;
  bytes: number;
  /** Made by a flush holding a client write (not only hand edits). */
  byClients: boolean;
}

export class WrittenVersions {
  private kept: Kept[] = [];

  constructor(
    private readonly read: ReadText = () => undefined,
    private readonly bounds: VersionBounds = DEFAULT_VERSION_BOUNDS,
  ) {}

  /** Records that the file now holds `version` (a document, or the text the sidecar wrote; `bytes` long), made by clients' writes or only by hand edits. */
  add(version: JsonObject | Buffer, bytes: number, byClients = true): void {
    if (sameVersion(this.kept.at(-1)?.version, version)) return;
    this.kept.push({ version, bytes, byClients });
    let total = this.kept.reduce((sum, kept) => sum + kept.bytes, 0);
    while (this.kept.length > 1 && (this.kept.length > this.bounds.count || total > this.bounds.bytes)) total -= this.kept.shift()!.bytes;
  }

  /**
   * The kept version the edit most likely started from: the one it differs
   * from at the fewest paths. Versions tie when everything changed between
   * them was changed by the edit too: then the newest, unless a client write
   * lies between it and an older tied one, then that older one (the paths
   * clients changed count as conflicts: the client values are kept and the
   * edit's reported, never overwritten unseen). docs/decisions.md, "Hand
   * edits merge", has the cases. `served`: the state served now, a candidate
   * too. Undefined when there is no candidate.
   */
  baseFor(edit: JsonObject, served?: JsonObject): JsonObject | undefined {
    // The file trails the served state by a rewrite: an edit may start from what was served (a dump
    // edited and saved) before the file held it, so that is a candidate too (the newest).
    const kept = this.kept.flatMap(({ version, byClients }) => {
      const doc = Buffer.isBuffer(version) ? this.read(version) : version;
      return doc === undefined ? [] : [{ doc, byClients }];
    });
    const candidates = served === undefined || kept.at(-1)?.doc === served ? kept : [...kept, { doc: served, byClients: true }];
    const distances = candidates.map(({ doc }) => diffValues({ exists: true, value: doc }, { exists: true, value: edit }).length);
    const nearest = Math.min(...distances);
    let chosen = distances.lastIndexOf(nearest);
    if (chosen < 0) return undefined;
    for (let older = chosen - 1; older >= 0; older--) {
      if (distances[older] !== nearest) continue;
      if (candidates.slice(older + 1, chosen + 1).some((kept) => kept.byClients)) chosen = older;
    }
    return candidates[chosen]!.doc;
  }

  /** Forgets every version but `doc`: the state served is not what the file held (an earlier state served read-only). */
  restartFrom(doc: JsonObject): void {
    this.kept = [{ version: doc, bytes: 0, byClients: false }];
  }

  get size(): number {
    return this.kept.length;
  }
}

/** Texts up to this size are compared by content when added (a larger one, by identity: a compare would hold up the event loop). */
const COMPARE_TEXT_BYTES = 1024 * 1024;

/** The same version again (the same document, or a text equal to the last one, written again after a failed rename): kept once. */
function sameVersion(kept: JsonObject | Buffer | undefined, version: JsonObject | Buffer): boolean {
  if (kept === version) return true;
  return Buffer.isBuffer(kept) && Buffer.isBuffer(version) && kept.length === version.length && version.length <= COMPARE_TEXT_BYTES && kept.equals(version);
}
