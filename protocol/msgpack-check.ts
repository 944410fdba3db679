// The walk every msgpack payload gets before it is decoded: byte by byte (no
// allocation), it checks depth, declared lengths against the bytes actually
// present and against the limits, key types, forbidden keys, and that only
// JSON-compatible types appear. A 6 KB frame claiming a 4 GiB string, or
// 100,000 nested arrays, fails here. msgpackr renames a decoded `__proto__`
// key silently, decodes invalid UTF-8 as U+FFFD, keeps the last of two equal
// keys and reads uint64/int64 as (rounded) doubles, so the walk is also where
// such keys, strings, duplicate keys and numbers outside ±(2^53−1)
// (json-numbers.ts) are refused. Both decoders (codec.ts, msgpackr, in the
// sidecar; plain-msgpack.ts in the client) read only what passed it.
import { isUtf8 } from 'node:buffer';
import { ErrorCode, ProtocolError } from './errors.js';
import type { Limits } from './limits.js';
import { MAX_EXACT_NUMBER, OUTSIDE_RANGE, numberProblem } from './json-numbers.js';
import { FORBIDDEN_SEGMENTS } from './paths.js';

/** The limits the decoder checks. */
export type DecodeLimits = Pick<Limits, 'maxDepth' | 'maxArrayLength' | 'maxStringBytes'>;

/**
 * A payload that failed the walk. `requestId` is the top-level `id` when it was
 * read before the failure, so the sidecar can answer that request and keep the
 * connection (the frame boundary is intact).
 */
export class DecodeError extends ProtocolError {
  requestId: number | undefined;
}

/**
 * What the walk holds values to. `exact` (the default, for everything the
 * sidecar receives): numbers within ±(2^53−1), valid UTF-8, unique keys. A
 * client reading the sidecar's answers passes `exact: false`: a schema's
 * default or transform may put such a value in the view, and refusing the
 * answer would only cut the connection over and over; the store itself never
 * holds one.
 */
export interface DecodeOptions {
  exact: boolean;
}

/** Maps with up to this many keys check duplicates by comparing bytes; larger ones through a Set. */
const FEW_KEYS = 16;

const forbiddenKeyBytes = [...FORBIDDEN_SEGMENTS].map((k) => Buffer.from(k, 'utf8'));

interface Level {
  remaining: number; // items still to read at this level (a map entry counts 2)
  isMap: boolean;
  count: number; // items read so far
  keyStart: number; // last key's byte range, for error paths
  keyEnd: number;
  keyRanges: number[] | undefined; // maps of two or more entries: [start, end] of each key read so far, while few
  keySet: Set<string> | undefined; // ... and once many: the keys as latin1 of their bytes
}

/** Walks one msgpack value; throws DecodeError on anything the project does not accept. */
export function checkMsgpack(buf: Uint8Array, limits: DecodeLimits, { exact }: DecodeOptions = { exact: true }): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const stack: Level[] = [];
  let pos = 0;
  const end = buf.length;

  let requestId: number | undefined;
  const where = (): string => describePath(buf, stack);
  const fail = (code: ErrorCode, message: string, details?: Record<string, unknown>): never => {
    const error = new DecodeError(code, `${message} at ${where()}`, details);
    error.requestId = requestId;
    throw error;
  };
  // Remembers a top-level `id` key whose value is a small unsigned int, for DecodeError.requestId.
  const noteRequestId = (): void => {
    const top = stack[0];
    if (stack.length !== 1 || top === undefined || !top.isMap || top.count % 2 !== 1) return;
    if (top.keyEnd - top.keyStart !== 2 || buf[top.keyStart] !== 0x69 || buf[top.keyStart + 1] !== 0x64) return;
    const b = buf[pos];
    if (b === undefined) return;
    if (b <= 0x7f) requestId = b;
    else if (b === 0xcc && pos + 1 < end) requestId = buf[pos + 1];
    else if (b === 0xcd && pos + 2 < end) requestId = view.getUint16(pos + 1);
    else if (b === 0xce && pos + 4 < end) requestId = view.getUint32(pos + 1);
  };
  const need = (n: number, what: string): void => {
    if (n > end - pos) {
      fail(ErrorCode.PROTOCOL, `truncated msgpack: ${what} declares ${n} bytes but only ${end - pos} remain`);
    }
  };
  const u8 = (): number => {
    need(1, 'value');
    return buf[pos++]!;
  };
  const u16 = (): number => {
    need(2, 'length');
    const v = view.getUint16(pos);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4, 'length');
    const v = view.getUint32(pos);
    pos += 4;
    return v;
  };
  const str = (len: number): void => {
    if (len > limits.maxStringBytes) {
      fail(ErrorCode.LIMIT_EXCEEDED, `string of ${len} bytes exceeds maxStringBytes ${limits.maxStringBytes}`, {
        limit: 'maxStringBytes',
        max: limits.maxStringBytes,
        actual: len,
      });
    }
    need(len, 'string');
    const top = stack[stack.length - 1];
    const isKey = top !== undefined && top.isMap && top.count % 2 === 0;
    if (isKey) {
      top.keyStart = pos;
      top.keyEnd = pos + len;
    }
    if (exact && !isText(pos, len)) {
      pos += len;
      fail(ErrorCode.BAD_REQUEST, `invalid UTF-8 in a ${isKey ? 'map key' : 'string'}`);
    }
    // Valid UTF-8 decodes one way only: equal bytes are equal keys, and unequal bytes never collide.
    if (exact && isKey && top.keyRanges !== undefined && seenKey(top, pos, len)) {
      pos += len;
      fail(ErrorCode.BAD_REQUEST, 'duplicate map key (decoding would keep only the last)');
    }
    if (isKey) {
      for (const forbidden of forbiddenKeyBytes) {
        if (forbidden.length === len && Buffer.compare(forbidden, buf.subarray(pos, pos + len)) === 0) {
          pos += len;
          fail(ErrorCode.BAD_REQUEST, `forbidden key "${forbidden.toString()}"`, { key: forbidden.toString() });
        }
      }
    }
    pos += len;
  };
  const container = (isMap: boolean, entries: number): void => {
    if (entries > limits.maxArrayLength) {
      fail(
        ErrorCode.LIMIT_EXCEEDED,
        `${isMap ? 'map' : 'array'} of ${entries} entries exceeds maxArrayLength ${limits.maxArrayLength}`,
        { limit: 'maxArrayLength', max: limits.maxArrayLength, actual: entries },
      );
    }
    const items = isMap ? entries * 2 : entries;
    // Every item takes at least one byte: a count larger than what is left is a lie.
    if (items > end - pos) {
      fail(ErrorCode.PROTOCOL, `truncated msgpack: ${isMap ? 'map' : 'array'} declares ${entries} entries but only ${end - pos} bytes remain`);
    }
    if (stack.length >= limits.maxDepth) {
      fail(ErrorCode.LIMIT_EXCEEDED, `nesting deeper than maxDepth ${limits.maxDepth}`, {
        limit: 'maxDepth',
        max: limits.maxDepth,
      });
    }
    if (items > 0) {
      let keyRanges: number[] | undefined;
      if (exact && isMap && entries > 1) {
        // One array per depth, reused: maps at one depth are walked one after the other.
        keyRanges = rangePool[stack.length] ??= [];
        keyRanges.length = 0;
      }
      stack.push({ remaining: items, isMap, count: 0, keyStart: -1, keyEnd: -1, keyRanges, keySet: undefined });
    }
    else completeItem();
  };
  const completeItem = (): void => {
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return;
      top.count++;
      if (--top.remaining > 0) return;
      stack.pop();
    }
  };
  const expectKeyString = (b: number): void => {
    const top = stack[stack.length - 1];
    if (top !== undefined && top.isMap && top.count % 2 === 0 && !((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))) {
      fail(ErrorCode.BAD_REQUEST, 'map key is not a string');
    }
  };
  const exactNumber = (n: number): void => {
    const problem = exact ? numberProblem(n) : Number.isFinite(n) ? undefined : numberProblem(n);
    if (problem !== undefined) fail(ErrorCode.BAD_REQUEST, problem);
  };
  const safeInt = (n: bigint): void => {
    if (!exact) return; // read as the nearest double, as JSON.parse would
    if (n > BigInt(MAX_EXACT_NUMBER) || n < -BigInt(MAX_EXACT_NUMBER)) fail(ErrorCode.BAD_REQUEST, `integer ${n} is ${OUTSIDE_RANGE}`);
  };
  const rangePool: number[][] = [];
  /** True when the key at [start, start + len) was seen before in this map; records it otherwise. */
  const seenKey = (level: Level, start: number, len: number): boolean => {
    if (level.keySet !== undefined) {
      const key = bytes.toString('latin1', start, start + len);
      if (level.keySet.has(key)) return true;
      level.keySet.add(key);
      return false;
    }
    const ranges = level.keyRanges!;
    for (let r = 0; r < ranges.length; r += 2) {
      const s = ranges[r]!;
      if (ranges[r + 1]! - s !== len) continue;
      let i = 0;
      while (i < len && buf[s + i] === buf[start + i]) i++;
      if (i === len) return true;
    }
    ranges.push(start, start + len);
    if (ranges.length > 2 * FEW_KEYS) {
      // Many keys: a set, so a map of 100,000 entries is not checked in quadratic time.
      level.keySet = new Set();
      for (let r = 0; r < ranges.length; r += 2) level.keySet.add(bytes.toString('latin1', ranges[r], ranges[r + 1]));
    }
    return false;
  };
  /** Short ASCII strings (most keys) are checked here; anything else by Node's UTF-8 validator. */
  const isText = (start: number, len: number): boolean => {
    if (len <= 32) {
      let ascii = true;
      for (let i = start; i < start + len; i++) if (buf[i]! >= 0x80) ascii = false;
      if (ascii) return true;
    }
    return isUtf8(buf.subarray(start, start + len));
  };

  if (end === 0) throw new DecodeError(ErrorCode.PROTOCOL, 'empty msgpack payload');
  do {
    noteRequestId();
    const b = u8();
    expectKeyString(b);
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      completeItem();
    } else if (b >= 0xa0 && b <= 0xbf) {
      str(b & 0x1f);
      completeItem();
    } else if (b >= 0x80 && b <= 0x8f) {
      container(true, b & 0x0f);
    } else if (b >= 0x90 && b <= 0x9f) {
      container(false, b & 0x0f);
    } else {
      switch (b) {
        case 0xd9: str(u8()); completeItem(); break;
        case 0xda: str(u16()); completeItem(); break;
        case 0xdb: str(u32()); completeItem(); break;
        case 0xdc: container(false, u16()); break;
        case 0xdd: container(false, u32()); break;
        case 0xde: container(true, u16()); break;
        case 0xdf: container(true, u32()); break;
        case 0xca: need(4, 'float32'); exactNumber(view.getFloat32(pos)); pos += 4; completeItem(); break;
        case 0xcb: need(8, 'float64'); exactNumber(view.getFloat64(pos)); pos += 8; completeItem(); break;
        case 0xcc: case 0xd0: need(1, 'int'); pos += 1; completeItem(); break;
        case 0xcd: case 0xd1: need(2, 'int'); pos += 2; completeItem(); break;
        case 0xce: case 0xd2: need(4, 'int'); pos += 4; completeItem(); break;
        case 0xcf: need(8, 'uint64'); safeInt(view.getBigUint64(pos)); pos += 8; completeItem(); break;
        case 0xd3: need(8, 'int64'); safeInt(view.getBigInt64(pos)); pos += 8; completeItem(); break;
        case 0xc4: case 0xc5: case 0xc6:
          fail(ErrorCode.BAD_REQUEST, 'binary values are not JSON-compatible');
          break;
        case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
          fail(ErrorCode.BAD_REQUEST, `msgpack extension type (0x${b.toString(16)}) is not accepted`);
          break;
        default:
          fail(ErrorCode.PROTOCOL, `invalid msgpack byte 0x${b.toString(16)}`);
      }
    }
  } while (stack.length > 0);
  if (pos !== end) {
    const error = new DecodeError(ErrorCode.PROTOCOL, `${end - pos} trailing bytes after the msgpack value`);
    error.requestId = requestId;
    throw error;
  }
}

/** A readable location for an error: the keys and indexes of the levels open at the failure. */
function describePath(buf: Uint8Array, stack: Level[]): string {
  if (stack.length === 0) return 'the top level';
  const parts = stack.map((level) => {
    if (!level.isMap) return String(level.count);
    if (level.keyStart < 0) return '(key)';
    return Buffer.from(buf.buffer, buf.byteOffset + level.keyStart, level.keyEnd - level.keyStart).toString('utf8');
  });
  return `"${parts.join('.')}"`;
}
