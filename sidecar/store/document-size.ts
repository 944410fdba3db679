// How many bytes a write adds to or removes from the file, without rendering
// the whole document again: only the values that changed are rendered (and
// their text is then cached for the flush). Used for the document-size limit
// at submit time; the flush renders the document exactly and is the backstop.
import { getAt, isPlainObject } from '../../protocol/index.js';
import type { JsonObject } from './document.js';
import { entryCount } from './container-size.js';
import { renderedBytes } from './json-text.js';

/** Size change of the file between `before` and `after`, which differ only under `paths`. */
export function sizeDelta(before: JsonObject, after: JsonObject, paths: readonly (readonly string[])[]): number {
  let delta = 0;
  // A set that created intermediate objects added them too: measure from the highest new one.
  const measured = paths.map((path) => {
    for (let i = 1; i < path.length; i++) if (getAt(before, path.slice(0, i)) === undefined) return path.slice(0, i);
    return path;
  });
  for (const path of topmost(measured)) {
    if (path.length === 0) return renderedBytes(after, 0) - renderedBytes(before, 0);
    const indent = 2 * path.length;
    const parentPath = path.slice(0, -1);
    const old = getAt(before, path);
    const now = getAt(after, path);
    const key = path[path.length - 1]!;
    const entry = (value: unknown) => 1 + indent + Buffer.byteLength(JSON.stringify(key)) + 2 + renderedBytes(value, indent); // "\n" pad "key": value
    if (old !== undefined && now !== undefined) {
      delta += renderedBytes(now, indent) - renderedBytes(old, indent);
      continue;
    }
    // A key added or removed: its line, a separating comma, or the parent's switch between "{}" and a block.
    const parentBefore = getAt(before, parentPath);
    const parentAfter = getAt(after, parentPath);
    const countBefore = isPlainObject(parentBefore) ? entryCount(parentBefore) : 0;
    const countAfter = isPlainObject(parentAfter) ? entryCount(parentAfter) : 0;
    const blockEnd = 1 + (indent - 2) + 1; // "\n" pad "}"
    if (now !== undefined) delta += countBefore === 0 ? entry(now) + blockEnd - 1 : 1 + entry(now);
    else if (old !== undefined) delta -= countAfter === 0 ? entry(old) + blockEnd - 1 : 1 + entry(old);
  }
  return delta;
}

/** The paths not under another path of the list (a change above covers the changes below). */
function topmost(paths: readonly (readonly string[])[]): (readonly string[])[] {
  const sorted = [...paths].sort((a, b) => a.length - b.length);
  const kept: (readonly string[])[] = [];
  for (const path of sorted) {
    if (!kept.some((above) => above.length <= path.length && above.every((segment, i) => segment === path[i]))) kept.push(path);
  }
  return kept;
}
