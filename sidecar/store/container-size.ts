// How many entries an array or object holds, for maxArrayLength: a set that
// adds an element or key must not grow a container past what the decoder
// accepts, or the stored value could not be written back by a client.
// An object's key count is cached by identity; a copy with one key set
// (document.ts) is counted from its original in O(1) (a config built one key at a time would
// otherwise cost O(n²)), and an object changed in place (document.ts,
// OwnedCopies) keeps its count up to date.
const keyCounts = new WeakMap<object, number>();

export function entryCount(container: object): number {
  if (Array.isArray(container)) return container.length;
  let count = keyCounts.get(container);
  if (count === undefined) {
    count = Object.keys(container).length;
    keyCounts.set(container, count);
  }
  return count;
}

/** Records that `object` gained a key in place. */
export function keyAdded(object: object): void {
  const count = keyCounts.get(object);
  if (count !== undefined) keyCounts.set(object, count + 1);
}

/** Records that `object` lost a key in place. */
export function keyRemoved(object: object): void {
  const count = keyCounts.get(object);
  if (count !== undefined) keyCounts.set(object, count - 1);
}

/** Records that `copy` is `original` with one key set: as many keys, or one more when `added`. */
export function countCopied(original: object, copy: object, added: boolean): void {
  const count = keyCounts.get(original);
  if (count !== undefined) keyCounts.set(copy, count + (added ? 1 : 0));
}
