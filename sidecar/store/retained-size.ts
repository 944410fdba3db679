// An upper estimate of the heap a committed value keeps alive, for the
// revision history's memory budget. Figures follow V8 on 64-bit without
// pointer compression (Node's default): 8 bytes per array slot or property
// value, a boxed number where it may not be a small integer, strings as if
// two bytes per character, and the value's cached file text (json-text.ts
// keeps it while the value lives). Documents never change once shared, so
// each object's estimate is computed once; a subtree shared by several
// revisions is charged to each — an overestimate, never an underestimate.
import { cachedTextHeapBytes } from './json-text.js';

const ARRAY_HEADER = 48; // JSArray + its elements store
const OBJECT_HEADER = 56; // JSObject + its property store
const PROPERTY = 48; // a dictionary-mode entry (key, value, details) at the usual load
const BOXED_NUMBER = 16;
const STRING_HEADER = 24;

const estimates = new WeakMap<object, number>();

/** Bytes of heap `value` keeps alive, at most (its own header included). */
export function retainedBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return STRING_HEADER + 2 * value.length;
    case 'number':
      return (value | 0) === value ? 0 : BOXED_NUMBER; // small integers live in their slot
    case 'object': {
      if (value === null) return 0;
      const known = estimates.get(value);
      if (known !== undefined) return known;
      let bytes = cachedTextHeapBytes(value);
      if (Array.isArray(value)) {
        bytes += ARRAY_HEADER + 8 * value.length;
        for (const item of value) bytes += retainedBytes(item);
      } else {
        bytes += OBJECT_HEADER;
        for (const key of Object.keys(value)) bytes += PROPERTY + retainedBytes(key) + retainedBytes((value as Record<string, unknown>)[key]);
      }
      estimates.set(value, bytes);
      return bytes;
    }
    default:
      return 0; // booleans and null are shared constants
  }
}
