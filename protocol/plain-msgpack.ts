// The client's msgpack codec: plain JSON values only, in one small file, so a
// process that connects does not load msgpackr (two entry points resolved
// through its exports map and ~2,500 lines evaluated: a few ms of every
// `config-sidecar get`; docs/decisions.md, "The client's own msgpack codec").
// It writes what msgpackr writes with PACKR_OPTIONS, byte for byte
// (test/unit/plain-msgpack.test.ts); a value it does not handle (a BigInt, a
// Date, a Map, undefined in an array, a lone surrogate, a class instance,
// nesting past any real document) goes to msgpackr itself, loaded then, so such
// values behave exactly as the sidecar's own codec treats them. It reads only
// payloads that passed the walk (msgpack-check.ts), which holds them to JSON's
// types and the limits.
import { encodeFrame } from './frame.js';
import { checkMsgpack, type DecodeLimits, type DecodeOptions } from './msgpack-check.js';

/**
 * msgpackr's options, for the sidecar's codec and this one's fallback: plain
 * maps, no records or extensions of its own; skipValues drops `undefined`
 * properties (msgpackr 2.x supports it; its typings lack it).
 */
export const PACKR_OPTIONS = { useRecords: false, moreTypes: false, skipValues: [undefined] } as const;

/** Deeper than any document the limits allow: left to msgpackr (a cycle, say, fails there as it would in the sidecar). */
const MAX_PLAIN_DEPTH = 512;

/** Thrown inside the encoder when a value is not plain JSON: the whole value goes to msgpackr. */
const NOT_PLAIN = Symbol('not plain');

class Writer {
  buf = Buffer.allocUnsafe(256);
  pos = 0;

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** A one-byte type, then `value` in `size` bytes (big-endian). */
  typed(type: number, size: 1 | 2 | 4, value: number): void {
    this.room(1 + size);
    this.buf[this.pos++] = type;
    if (size === 1) this.buf.writeUInt8(value & 0xff, this.pos);
    else if (size === 2) this.buf.writeUInt16BE(value & 0xffff, this.pos);
    else this.buf.writeUInt32BE(value >>> 0, this.pos);
    this.pos += size;
  }

  /** The header of an array (0x90, 0xdc) or map (0x80, 0xde) of `length`. */
  header(fix: number, type16: number, length: number): void {
    if (length < 0x10) this.byte(fix | length);
    else if (length < 0x10000) this.typed(type16, 2, length);
    else this.typed(type16 + 1, 4, length);
  }

  number(n: number): void {
    if (n >>> 0 === n) {
      if (n < 0x80) this.byte(n);
      else if (n < 0x100) this.typed(0xcc, 1, n);
      else if (n < 0x10000) this.typed(0xcd, 2, n);
      else this.typed(0xce, 4, n);
    } else if (n >> 0 === n) {
      if (n >= -0x20) this.byte(0x100 + n);
      else if (n >= -0x80) this.typed(0xd0, 1, n);
      else if (n >= -0x8000) this.typed(0xd1, 2, n);
      else this.typed(0xd2, 4, n);
    } else {
      this.room(9);
      this.buf[this.pos++] = 0xcb;
      this.buf.writeDoubleBE(n, this.pos);
      this.pos += 8;
    }
  }

  string(s: string): void {
    // A lone surrogate: msgpackr writes it as its own bytes (invalid UTF-8, which the sidecar refuses) in short strings.
    if (!(s as string & { isWellFormed(): boolean }).isWellFormed()) throw NOT_PLAIN;
    const length = Buffer.byteLength(s, 'utf8');
    if (length < 0x20) this.byte(0xa0 | length);
    else if (length < 0x100) this.typed(0xd9, 1, length);
    else if (length < 0x10000) this.typed(0xda, 2, length);
    else this.typed(0xdb, 4, length);
    this.room(length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  value(v: unknown, depth: number): void {
    if (depth > MAX_PLAIN_DEPTH) throw NOT_PLAIN;
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        return this.number(v);
      case 'boolean':
        return this.byte(v ? 0xc3 : 0xc2);
      case 'object':
        if (v === null) return this.byte(0xc0);
        if (Array.isArray(v) && v.constructor === Array) {
          this.header(0x90, 0xdc, v.length);
          // By index, as msgpackr does (an iterator of its own could yield another count than the header's).
          for (let i = 0; i < v.length; i++) {
            const item: unknown = v[i];
            if (item === undefined) throw NOT_PLAIN;
            this.value(item, depth + 1);
          }
          return;
        }
        // An own hasOwnProperty that is not a function makes msgpackr take inherited keys too: its way, not ours.
        if (v.constructor === Object && !Object.hasOwn(v, 'hasOwnProperty')) {
          const record = v as Record<string, unknown>;
          const keys = Object.keys(record).filter((key) => record[key] !== undefined);
          this.header(0x80, 0xde, keys.length);
          for (const key of keys) {
            this.string(key);
            this.value(record[key], depth + 1);
          }
          return;
        }
        throw NOT_PLAIN;
      default:
        throw NOT_PLAIN;
    }
  }
}

/** msgpackr's packer, for values this codec leaves to it: loaded on the first such value. */
let fallback: { pack(value: unknown): Buffer } | undefined;

function packWithMsgpackr(value: unknown): Buffer {
  if (fallback === undefined) {
    const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);
    // The plain JavaScript build (the package's main entry for require would load the native extractor too).
    const { Packr } = require('msgpackr/index-no-eval') as { Packr: new (options: object) => { pack(value: unknown): Buffer } };
    fallback = new Packr(PACKR_OPTIONS);
  }
  return fallback.pack(value);
}

/** Encodes a value as msgpackr with PACKR_OPTIONS would, in a buffer of its own. */
export function encodeValue(value: unknown): Buffer {
  const writer = new Writer();
  try {
    writer.value(value, 0);
  } catch (error) {
    if (error !== NOT_PLAIN) throw error;
    return Buffer.from(packWithMsgpackr(value));
  }
  return writer.buf.subarray(0, writer.pos);
}

/** Encodes one message as a complete frame (length prefix + msgpack). */
export function encodeMessage(message: unknown): Buffer {
  return encodeFrame(encodeValue(message));
}

/** Validates then decodes one msgpack payload (as codec.ts decodes it). Throws DecodeError naming what was wrong and where. */
export function decodeValue(payload: Uint8Array, limits: DecodeLimits, options: DecodeOptions = { exact: true }): unknown {
  checkMsgpack(payload, limits, options);
  return new Reader(payload).value();
}

/** Reads a payload that passed the walk: every length is in bounds and every type one of JSON's. */
class Reader {
  private readonly bytes: Buffer;
  private pos = 0;

  constructor(payload: Uint8Array) {
    this.bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  }

  value(): unknown {
    const b = this.bytes[this.pos++]!;
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b < 0x90) return this.map(b & 0x0f);
    if (b < 0xa0) return this.array(b & 0x0f);
    if (b < 0xc0) return this.string(b & 0x1f);
    const { bytes } = this;
    const at = this.pos;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xca: this.pos += 4; return bytes.readFloatBE(at);
      case 0xcb: this.pos += 8; return bytes.readDoubleBE(at);
      case 0xcc: this.pos += 1; return bytes.readUInt8(at);
      case 0xcd: this.pos += 2; return bytes.readUInt16BE(at);
      case 0xce: this.pos += 4; return bytes.readUInt32BE(at);
      case 0xcf: this.pos += 8; return Number(bytes.readBigUInt64BE(at));
      case 0xd0: this.pos += 1; return bytes.readInt8(at);
      case 0xd1: this.pos += 2; return bytes.readInt16BE(at);
      case 0xd2: this.pos += 4; return bytes.readInt32BE(at);
      case 0xd3: this.pos += 8; return Number(bytes.readBigInt64BE(at));
      case 0xd9: this.pos += 1; return this.string(bytes.readUInt8(at));
      case 0xda: this.pos += 2; return this.string(bytes.readUInt16BE(at));
      case 0xdb: this.pos += 4; return this.string(bytes.readUInt32BE(at));
      case 0xdc: this.pos += 2; return this.array(bytes.readUInt16BE(at));
      case 0xdd: this.pos += 4; return this.array(bytes.readUInt32BE(at));
      case 0xde: this.pos += 2; return this.map(bytes.readUInt16BE(at));
      case 0xdf: this.pos += 4; return this.map(bytes.readUInt32BE(at));
      default: throw new Error(`msgpack byte 0x${b.toString(16)} passed the walk`);
    }
  }

  private string(length: number): string {
    const start = this.pos;
    this.pos += length;
    return this.bytes.toString('utf8', start, this.pos);
  }

  private array(length: number): unknown[] {
    const items = new Array<unknown>(length);
    for (let i = 0; i < length; i++) items[i] = this.value();
    return items;
  }

  private map(entries: number): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    // Keys are strings and none is __proto__ (the walk refuses both otherwise).
    for (let i = 0; i < entries; i++) object[this.value() as string] = this.value();
    return object;
  }
}
