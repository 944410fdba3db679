// The config file's text: pretty JSON (2 spaces, keys in document order,
// trailing newline), the same as JSON.stringify(doc, null, 2) + "\n".
// Documents are copied on write (document.ts), and whatever changes an
// object in place drops its cached text (forgetText), so each object's text
// can be cached and reused: after a small edit of a large document only
// the objects on the edited path are serialised again. This keeps a write to
// a 10 MB config from stalling every other request while it is stringified.

/** A fragment of JSON text and its UTF-8 size. */
interface Text {
  text: string;
  bytes: number;
}

const cache = new WeakMap<object, { indent: number; text: Text }>();

/** The file content for `doc`, with its size in bytes. */
export function documentText(doc: object): Text {
  const body = render(doc, 0);
  return { text: body.text + '\n', bytes: body.bytes + 1 };
}

function render(value: unknown, indent: number): Text {
  if (typeof value !== 'object' || value === null) {
    const text = JSON.stringify(value);
    return { text, bytes: Buffer.byteLength(text) };
  }
  const hit = cache.get(value);
  if (hit !== undefined && hit.indent === indent) return hit.text;
  const out = Array.isArray(value) ? renderArray(value, indent) : renderObject(value as Record<string, unknown>, indent);
  cache.set(value, { indent, text: out });
  return out;
}

function isScalar(value: unknown): boolean {
  return typeof value !== 'object' || value === null;
}

/** JSON.stringify's pretty text, shifted right by `indent` (raw newlines only occur between tokens). */
function nativeText(value: object, indent: number): Text {
  const flat = JSON.stringify(value, null, 2);
  const text = indent === 0 ? flat : flat.replaceAll('\n', '\n' + ' '.repeat(indent));
  return { text, bytes: Buffer.byteLength(text) };
}

/**
 * Size of `doc`'s file text, measured without caching anything: the sizes
 * taken once at start. A large document is rendered by the renderer thread,
 * and texts cached here for all its objects (several times its size: each
 * object's text holds its children's) would only load the main thread's
 * heap and lengthen its full collections.
 */
export function documentBytes(doc: object): number {
  return Buffer.byteLength(JSON.stringify(doc, null, 2)) + 1;
}

/** Drops the text cached for `value`: for an object changed in place (the working copy's own, the checkpoint renderer's copy). */
export function forgetText(value: object): void {
  cache.delete(value);
}

/** Bytes of `value`'s text when it sits at `indent` in the document (rendered and cached if need be). */
export function renderedBytes(value: unknown, indent: number): number {
  return render(value, indent).bytes;
}

/** Size of a value's JSON text when it has been rendered (as part of a document) and is still cached. */
export function knownBytes(value: unknown): number | undefined {
  return typeof value === 'object' && value !== null ? cache.get(value)?.text.bytes : undefined;
}

/**
 * Heap held by a value's cached text (0 when none is cached): one byte per
 * character for ASCII text (V8's one-byte strings), else two.
 */
export function cachedTextHeapBytes(value: object): number {
  const text = cache.get(value)?.text;
  if (text === undefined) return 0;
  return 64 + (text.bytes === text.text.length ? 1 : 2) * text.text.length;
}

function renderArray(items: readonly unknown[], indent: number): Text {
  if (items.length === 0) return { text: '[]', bytes: 2 };
  // An array is copied whole by any edit of one element; for flat arrays the native stringifier is
  // many times faster than rendering element by element (100,000 numbers: ~3 ms instead of ~150 ms).
  if (items.every(isScalar)) return nativeText(items, indent);
  const pad = '\n' + ' '.repeat(indent + 2);
  let text = '[';
  let bytes = 1;
  items.forEach((item, i) => {
    const child = render(item, indent + 2);
    const sep = i === 0 ? pad : ',' + pad;
    text += sep + child.text;
    bytes += sep.length + child.bytes;
  });
  const close = '\n' + ' '.repeat(indent) + ']';
  return { text: text + close, bytes: bytes + close.length };
}

function renderObject(object: Record<string, unknown>, indent: number): Text {
  const keys = Object.keys(object);
  if (keys.length === 0) return { text: '{}', bytes: 2 };
  // Objects of plain values (the common leaf of a config) are re-rendered whole on every edit of one of
  // their keys: the native stringifier does that many times faster than key by key.
  if (keys.every((key) => isScalar(object[key]))) return nativeText(object, indent);
  const pad = '\n' + ' '.repeat(indent + 2);
  let text = '{';
  let bytes = 1;
  keys.forEach((key, i) => {
    const name = JSON.stringify(key);
    const child = render(object[key], indent + 2);
    const sep = i === 0 ? pad : ',' + pad;
    text += sep + name + ': ' + child.text;
    bytes += sep.length + Buffer.byteLength(name) + 2 + child.bytes;
  });
  const close = '\n' + ' '.repeat(indent) + '}';
  return { text: text + close, bytes: bytes + close.length };
}
