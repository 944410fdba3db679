// A watch's local copy of the value at its path: changes are applied to it as
// they arrive, and when the sidecar cannot replay what was missed, the copy is
// diffed against a fresh snapshot to tell the watcher exactly what changed.
import { ABSENT, diffValues, type JsonChange, type Presence } from '../protocol/json-diff.js';
import { arrayIndex, isPlainObject } from '../protocol/paths.js';

/** The value at a watched path, or its absence. */
export type View = Presence;

/** A change as watchers receive it: full segment path, new value or removal. */
export type ViewChange = JsonChange;

export { ABSENT };

/** The view after one change at `change.path` (which lies at or under `watched`). */
export function applyChange(view: View, watched: readonly string[], change: ViewChange): View {
  const below = change.path.slice(watched.length);
  if (below.length === 0) return change.deleted ? ABSENT : { exists: true, value: change.value };
  const base = view.exists ? view.value : {};
  const next = change.deleted ? removeAt(base, below, 0) : putAt(base, below, 0, change.value);
  return { exists: true, value: next };
}

function putAt(node: unknown, below: readonly string[], depth: number, value: unknown): unknown {
  if (depth === below.length) return value;
  const key = below[depth]!;
  if (Array.isArray(node)) {
    const index = arrayIndex(key);
    if (index !== undefined) {
      const copy = node.slice();
      copy[index] = putAt(node[index], below, depth + 1, value);
      return copy;
    }
  }
  const object = isPlainObject(node) ? node : {};
  return { ...object, [key]: putAt(object[key], below, depth + 1, value) };
}

function removeAt(node: unknown, below: readonly string[], depth: number): unknown {
  const key = below[depth]!;
  const last = depth === below.length - 1;
  if (Array.isArray(node)) {
    const index = arrayIndex(key);
    if (index === undefined || index >= node.length) return node;
    const copy = node.slice();
    if (last) copy.splice(index, 1);
    else copy[index] = removeAt(node[index], below, depth + 1);
    return copy;
  }
  if (!isPlainObject(node) || !Object.hasOwn(node, key)) return node;
  if (last) {
    const { [key]: _gone, ...rest } = node;
    return rest;
  }
  return { ...node, [key]: removeAt(node[key], below, depth + 1) };
}

/** The changes that turn `before` into `after`, both views of the path `at`: smallest paths that differ. */
export function diffViews(before: View, after: View, at: readonly string[]): ViewChange[] {
  return diffValues(before, after, at);
}
