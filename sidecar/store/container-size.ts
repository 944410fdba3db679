// How many entries an array or object holds, for maxArrayLength: a set that
// adds an element or key must not grow a container past what the decoder
// accepts, or the stored value could not be written back by a client.
// Documents are never mutated, so an object's key count is cached by
// identity, and a copy with one key added is counted from its original in
// O(1) (a config built one key at a time would otherwise cost O(n²)).
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

/** Records that `after` is `before` with one more key. */
export function countsOneMore(before: object, after: object): void {
  if (!Array.isArray(after)) keyCounts.set(after, entryCount(before) + 1);
}
