// Changes made to a document in place, for a copy nobody else holds (the
// checkpoint renderer thread's): no object on the path is copied, so changing
// an object with thousands of keys costs no more than changing a small one.
// Same results as document.ts's copy-on-write setIn/deleteIn.
import { arrayIndex } from '../../protocol/paths.js';
import type { JsonObject } from './document.js';
import type { Change } from './store-state.js';

/**
 * `change` made to `root` in place (as document.ts setIn/deleteIn make it on a
 * copy: missing objects on the way are created, a set at an array's length
 * appends, a delete from an array closes the gap); returns the root (a new
 * one when the change replaces it). `changed` is told of every object on the
 * path (their cached text no longer holds).
 */
export function applyChangeInPlace(root: JsonObject, change: Change, changed: (value: object) => void): JsonObject {
  const { segments } = change;
  if (segments.length === 0) return change.deleted === true ? {} : (change.value as JsonObject);
  let node: unknown = root;
  changed(root);
  for (const segment of segments.slice(0, -1)) {
    const container = node as Record<string, unknown> | unknown[];
    let child: unknown = Array.isArray(container) ? container[arrayIndex(segment) ?? -1] : Object.hasOwn(container, segment) ? container[segment] : undefined;
    // Nothing there to delete (a path through a scalar or a missing key leaves the document as it is).
    if (change.deleted === true && (typeof child !== 'object' || child === null)) return root;
    if (child === undefined) {
      child = {};
      if (Array.isArray(container)) container[arrayIndex(segment)!] = child;
      else container[segment] = child;
    }
    node = child;
    changed(child as object);
  }
  const key = segments.at(-1)!;
  if (Array.isArray(node)) {
    const index = arrayIndex(key);
    if (index === undefined) return root; // not an index: nothing there (a set would have been refused)
    if (change.deleted === true) {
      if (index < node.length) node.splice(index, 1);
    } else node[index] = change.value;
  } else {
    const object = node as Record<string, unknown>;
    if (change.deleted === true) delete object[key];
    else object[key] = change.value;
  }
  return root;
}
