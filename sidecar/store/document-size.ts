// How many bytes a write adds to or removes from the file, without rendering
// the whole document again: only the values that changed are rendered (and
// their text is then cached for the flush). Used for the document-size limit
// at submit time; the flush renders the document exactly and is the backstop.
// Measured one edit at a time, from a probe taken before the edit: the edit
// may change the document's objects in place (document.ts, OwnedCopies).
import { getAt, isPlainObject } from '../../protocol/index.js';
import type { JsonObject } from './document.js';
import { entryCount } from './container-size.js';
import { renderedBytes } from './json-text.js';

/** What an edit at `path` replaces, taken before the edit. */
export interface SizeProbe {
  /** The edited path, or the highest object on it the edit creates. */
  path: readonly string[];
  old: unknown;
}

/** The probe for an edit at `path` (the path whose value changes: an array's when an element changes). */
export function probeSize(before: JsonObject, edited: readonly string[]): SizeProbe {
  let path = edited;
  // A set that creates intermediate objects adds them too: measure from the highest new one.
  for (let i = 1; i < edited.length; i++) {
    if (getAt(before, edited.slice(0, i)) === undefined) {
      path = edited.slice(0, i);
      break;
    }
  }
  // The root's old text is measured now: an edit may change the root object in place.
  return { path, old: path.length === 0 ? renderedBytes(before, 0) : getAt(before, path) };
}

/** Size change of the file from the probe's edit, now that `after` holds it. */
export function sizeDelta(probe: SizeProbe, after: JsonObject): number {
  const { path, old } = probe;
  if (path.length === 0) return renderedBytes(after, 0) - (old as number);
  const indent = 2 * path.length;
  const now = getAt(after, path);
  const key = path[path.length - 1]!;
  const entry = (value: unknown) => 1 + indent + Buffer.byteLength(JSON.stringify(key)) + 2 + renderedBytes(value, indent); // "\n" pad "key": value
  if (old !== undefined && now !== undefined) return renderedBytes(now, indent) - renderedBytes(old, indent);
  // A key added or removed: its line, a separating comma, or the parent's switch between "{}" and a block
  // (told by the parent's entries now: one, after an add to an empty object; none, after the last was removed).
  const parent = getAt(after, path.slice(0, -1));
  const count = isPlainObject(parent) ? entryCount(parent) : 0;
  const blockEnd = 1 + (indent - 2) + 1; // "\n" pad "}"
  if (now !== undefined) return count === 1 ? entry(now) + blockEnd - 1 : 1 + entry(now);
  if (old !== undefined) return -(count === 0 ? entry(old) + blockEnd - 1 : 1 + entry(old));
  return 0;
}
