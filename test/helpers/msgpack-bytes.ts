// Hand-built msgpack and frames for hostile-input tests: bytes no encoder
// would produce (a `__proto__` key, a 4 GiB length claim, an extension type),
// spliced into otherwise valid requests.
import { encodeFrame, encodeValue } from '../../protocol/index.js';

/** Concatenates buffers, byte arrays and hex strings. */
export const raw = (...parts: (Buffer | number[] | string)[]): Buffer =>
  Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : typeof p === 'string' ? Buffer.from(p, 'hex') : Buffer.from(p))));

/** A frame around a payload given as raw bytes. */
export const framed = (...parts: (Buffer | number[] | string)[]): Buffer => encodeFrame(raw(...parts));

/** msgpack of a short string (fixstr, up to 31 bytes). */
export const key = (s: string): Buffer => raw([0xa0 | Buffer.byteLength(s)], Buffer.from(s));

/** A bare 4-byte length prefix. */
export const header = (length: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
};

/** msgpack of any plain value, in its own buffer (encodeValue's result is reused by the next encode). */
export const packed = (value: unknown): Buffer => Buffer.from(encodeValue(value));

/** `{id, op: "set", path, value: <bytes>}` with the value spliced in raw (the id first, so the sidecar can answer it). */
export const setWithRawValue = (id: number, value: Buffer | number[] | string, path: unknown = 'a'): Buffer =>
  framed([0x84], key('id'), packed(id), key('op'), key('set'), key('path'), packed(path), key('value'), value);

/** `{id, op, <raw key>: <raw value>}`: e.g. a forbidden key at the top of a request. */
export const requestWithRawEntry = (id: number, op: string, entryKey: Buffer, entryValue: Buffer | number[] | string): Buffer =>
  framed([0x83], key('id'), packed(id), key('op'), packed(op), entryKey, entryValue);
