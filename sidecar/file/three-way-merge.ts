// A hand edit as a three-way merge: `base` is the version the sidecar wrote
// that the edit started from, `ours` the document with every client write
// accepted since, `theirs` the edited file. Paths the edit changed are
// applied; paths only clients changed are kept; a path both changed keeps the
// client's value and is reported as a conflict (docs/decisions.md, "Hand
// edits merge").
import { deepEqual, diffValues, getAt, isPlainObject, type Presence, type WriteOp } from '../../protocol/index.js';
import type { JsonObject } from '../store/document.js';

/** A path both sides changed: the client's value was kept, the edit's is reported here. */
export interface MergeConflict {
  path: string[];
  /** What the edit wanted there (absent: it deleted the path). */
  edit: Presence;
}

export interface MergeResult {
  /** The writes that apply the edit to `ours`. */
  ops: WriteOp[];
  conflicts: MergeConflict[];
}

export function mergeEdit(base: JsonObject, ours: JsonObject, theirs: JsonObject): MergeResult {
  const ops: WriteOp[] = [];
  const conflicts: MergeConflict[] = [];
  for (const change of diffValues({ exists: true, value: base }, { exists: true, value: theirs })) {
    const wanted: Presence = change.deleted ? { exists: false } : { exists: true, value: change.value };
    const now = presenceAt(ours, change.path);
    if (samePresence(now, wanted)) continue; // both sides made the same change
    // Untouched by clients since the base, and (for an addition) its parent still an object there.
    const untouched = samePresence(now, presenceAt(base, change.path)) && (change.deleted === true || isPlainObject(getAt(ours, change.path.slice(0, -1))));
    if (!untouched) {
      conflicts.push({ path: change.path, edit: wanted });
      continue;
    }
    ops.push(change.deleted ? { op: 'delete', path: change.path } : { op: 'set', path: change.path, value: change.value });
  }
  return { ops, conflicts };
}

/** The value at `segments`, or its absence (a missing parent or a non-container on the way included). */
export function presenceAt(doc: unknown, segments: readonly string[]): Presence {
  let node: unknown = doc;
  for (const segment of segments) {
    if (isPlainObject(node) && Object.hasOwn(node, segment)) node = node[segment];
    else return { exists: false };
  }
  return { exists: true, value: node };
}

function samePresence(a: Presence, b: Presence): boolean {
  return a.exists ? b.exists && deepEqual(a.value, b.value) : !b.exists;
}
