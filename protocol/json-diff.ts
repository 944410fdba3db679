// The difference between two JSON values as a list of changes at the
// smallest paths that differ: objects are compared key by key, anything else
// (scalars, arrays) is replaced whole when not deeply equal. Used to turn a
// hand-edited file into a revision and to resync a watcher from a snapshot.
import { isPlainObject } from './paths.js';

/** A value at a path, or its absence. */
export type Presence = { exists: true; value: unknown } | { exists: false };

export type JsonChange = { path: string[]; value: unknown; deleted?: never } | { path: string[]; deleted: true; value?: never };

export const ABSENT: Presence = { exists: false };

/** The changes that turn `before` into `after`, both being the value at path `at`. */
export function diffValues(before: Presence, after: Presence, at: readonly string[] = []): JsonChange[] {
  const out: JsonChange[] = [];
  diffInto(before, after, [...at], out);
  return out;
}

function diffInto(before: Presence, after: Presence, at: string[], out: JsonChange[]): void {
  if (!after.exists) {
    if (before.exists) out.push({ path: at, deleted: true });
    return;
  }
  if (before.exists && isPlainObject(before.value) && isPlainObject(after.value)) {
    const a = before.value;
    const b = after.value;
    for (const key of Object.keys(a)) {
      if (!Object.hasOwn(b, key)) out.push({ path: [...at, key], deleted: true });
    }
    for (const key of Object.keys(b)) {
      const was: Presence = Object.hasOwn(a, key) ? { exists: true, value: a[key] } : ABSENT;
      diffInto(was, { exists: true, value: b[key] }, [...at, key], out);
    }
    return;
  }
  if (!before.exists || !deepEqual(before.value, after.value)) out.push({ path: at, value: after.value });
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}
