// decodeValue: JSON values survive the round trip; hostile payloads (length
// bombs, deep nesting, prototype keys, non-JSON types, truncation) are refused
// with the right code, a message naming where, and without allocating what
// they claim.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_LIMITS,
  DecodeError,
  ErrorCode,
  FORBIDDEN_SEGMENTS,
  ProtocolError,
  RequestSchema,
  decodeValue,
  encodeMessage,
  encodeValue,
  type DecodeLimits,
} from '../../protocol/index.js';
import { jsonValue, type Json } from '../fixtures/json-values.js';

const limits: DecodeLimits = DEFAULT_LIMITS;

/** encodeValue views a reusable buffer: copy before encoding anything else. */
const enc = (value: unknown): Buffer => Buffer.from(encodeValue(value));
const bytes = (...parts: (Buffer | number[])[]): Buffer => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u64 = (n: bigint): number[] => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, n));
  return [...b];
};
/** `{id: 7, value: <raw>}` with `raw` spliced in as already-encoded bytes. */
const requestWith = (raw: Buffer | number[], id = 7): Buffer => bytes([0x82], enc('id'), enc(id), enc('value'), raw);

/** Asserts decodeValue throws a DecodeError with `code`, and returns it for further checks. */
function rejects(payload: Uint8Array, code: ErrorCode, where?: RegExp | string, decodeLimits: DecodeLimits = limits): DecodeError {
  try {
    decodeValue(payload, decodeLimits);
  } catch (error) {
    assert.ok(error instanceof DecodeError, `expected a DecodeError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (typeof where === 'string') assert.ok(error.message.endsWith(` at ${where}`), `"${error.message}" should end with "at ${where}"`);
    else if (where !== undefined) assert.match(error.message, where);
    return error;
  }
  assert.fail(`expected ${code}, but the payload decoded`);
}

/** True when `value` is exactly what JSON can hold, with ordinary prototypes and no prototype keys. */
function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype && value.every(isPlainJson);
  if (typeof value !== 'object') return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.keys(value).every((key) => !FORBIDDEN_SEGMENTS.has(key) && isPlainJson((value as Record<string, unknown>)[key]));
}

function nestedArrays(depth: number, innermost: number[] = [0xc0]): Buffer {
  return bytes(Buffer.alloc(depth, 0x91), innermost);
}

describe('codec round trip', () => {
  test('every JSON value survives encodeValue then decodeValue unchanged', () => {
    fc.assert(
      fc.property(jsonValue({ maxDepth: 5 }), (value) => {
        assert.deepEqual(decodeValue(enc(value), limits), value);
      }),
      { numRuns: 500 },
    );
  });

  test('a request envelope around any JSON value decodes and passes RequestSchema', () => {
    fc.assert(
      fc.property(fc.nat(), jsonValue(), (id, value) => {
        const frame = encodeMessage({ id, op: 'set', path: ['a', 'b'], value });
        const decoded = decodeValue(frame.subarray(4), limits);
        assert.deepEqual(decoded, { id, op: 'set', path: ['a', 'b'], value });
        assert.equal(RequestSchema.safeParse(decoded).success, true);
      }),
      { numRuns: 200 },
    );
  });

  test('large and fractional numbers within ±(2^53−1) keep their value (msgpackr sends them as float64)', () => {
    for (const n of [2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 5e-324, 0.1, 9007199254740990.5 - 0.5]) {
      assert.equal(decodeValue(enc(n), limits), n);
    }
  });

  test('numbers beyond ±(2^53−1) are refused in every encoding, naming the path, never rounded', () => {
    // A double this large no longer holds every integer: 12345678901234567890 has already become …7000.
    for (const n of [2 ** 53, -(2 ** 53), 12345678901234567890, 2 ** 64, 1e300, -Number.MAX_VALUE]) {
      rejects(enc(n), ErrorCode.BAD_REQUEST, /outside the safe integer range ±9007199254740991/);
      rejects(requestWith(enc({ deep: [n] })), ErrorCode.BAD_REQUEST, / at "value.deep.0"$/);
    }
    rejects(Buffer.from([0xca, 0x5f, 0x80, 0, 0]), ErrorCode.BAD_REQUEST, /number 18446744073709552000 is outside/); // float32 2^64
  });
});

describe('codec text', () => {
  test('invalid UTF-8 in a string value is refused, not decoded as U+FFFD', () => {
    for (const raw of [[0xa1, 0xff], [0xa2, 0xc3, 0x28], [0xa3, 0xed, 0xa0, 0x80] /* an encoded lone surrogate */, [0xa1, 0x80], [0xa2, 0xe2, 0x82]]) {
      rejects(Buffer.from(raw), ErrorCode.BAD_REQUEST, /invalid UTF-8 in a string at the top level/);
      rejects(requestWith(bytes([0x92, 0xa1, 0x61], raw)), ErrorCode.BAD_REQUEST, /invalid UTF-8 in a string at "value.1"$/);
    }
    const long = Buffer.alloc(100, 0x61);
    long[77] = 0xfe;
    rejects(requestWith(bytes([0xd9, 100], long)), ErrorCode.BAD_REQUEST, /invalid UTF-8 in a string at "value"$/);
  });

  test('invalid UTF-8 in a map key is refused: {<ff>:1, <fe>:2} is not one U+FFFD key', () => {
    const map = bytes([0x82, 0xa1, 0xff, 0x01, 0xa1, 0xfe, 0x02]);
    rejects(map, ErrorCode.BAD_REQUEST, /invalid UTF-8 in a map key at "\uFFFD"$/u);
    rejects(requestWith(map), ErrorCode.BAD_REQUEST, /invalid UTF-8 in a map key at "value.\uFFFD"$/u);
  });

  test('a duplicate map key is refused, not merged (last one wins in msgpackr)', () => {
    rejects(bytes([0x82], enc('a'), [0x01], enc('a'), [0x02]), ErrorCode.BAD_REQUEST, /duplicate map key .* at "a"$/);
    rejects(requestWith(bytes([0x81], enc('x'), [0x83], enc('k'), [0x01], enc('é'), [0x02], enc('k'), [0x03])), ErrorCode.BAD_REQUEST, / at "value.x.k"$/);
    // The same key in different maps, and keys that differ only past a shared prefix, are fine.
    assert.deepEqual(decodeValue(enc({ a: { a: 1 }, b: [{ a: 2 }, { a: 3 }], ab: 1, abc: 2 }), limits), { a: { a: 1 }, b: [{ a: 2 }, { a: 3 }], ab: 1, abc: 2 });
  });

  test('a client reading answers (exact: false) takes large numbers, replaced text and repeated keys as msgpackr decodes them; never NaN', () => {
    const lenient = { exact: false };
    assert.equal(decodeValue(enc(2 ** 60), limits, lenient), 2 ** 60);
    assert.equal(decodeValue(Buffer.from([0xcf, ...u64(12345678901234567890n)]), limits, lenient), 12345678901234567890);
    assert.equal(decodeValue(Buffer.from([0xa1, 0xff]), limits, lenient), '\uFFFD');
    assert.deepEqual(decodeValue(bytes([0x82], enc('a'), [0x01], enc('a'), [0x02]), limits, lenient), { a: 2 });
    rejects(Buffer.from([0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), ErrorCode.BAD_REQUEST, /not finite/);
    assert.throws(() => decodeValue(Buffer.from([0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), limits, lenient), /not finite/);
  });

  test('valid UTF-8 of every width passes, keys and values', () => {
    const value = { 'a\u00e9\u4e2d\u{1f600}': 'z\u00ff\u0800\uffff\u{10ffff}'.repeat(20) };
    assert.deepEqual(decodeValue(enc(value), limits), value);
  });

  test('non-ASCII strings and keys survive', () => {
    const value = { 'ключ': 'значение', '鍵': ['値', '😀'], 'e\u0301': 'é' };
    assert.deepEqual(decodeValue(enc(value), limits), value);
  });

  test('undefined properties are dropped on encode, never sent as an extension', () => {
    assert.deepEqual(decodeValue(enc({ a: 1, b: undefined }), limits), { a: 1 });
  });
});

describe('codec length bombs', () => {
  test('an array32 header claiming 4 GiB entries in a 5-byte payload is LIMIT_EXCEEDED before anything is allocated', () => {
    const error = rejects(bytes([0xdd, ...u32(0xffffffff)]), ErrorCode.LIMIT_EXCEEDED, 'the top level');
    assert.deepEqual(error.details, { limit: 'maxArrayLength', max: limits.maxArrayLength, actual: 0xffffffff });
  });

  test('a map32 header claiming 4 GiB entries is LIMIT_EXCEEDED (maxArrayLength also bounds maps)', () => {
    const error = rejects(requestWith([0xdf, ...u32(0xffffffff)]), ErrorCode.LIMIT_EXCEEDED, '"value"');
    assert.equal(error.details?.limit, 'maxArrayLength');
  });

  test('a str32 header claiming 4 GiB is LIMIT_EXCEEDED naming maxStringBytes', () => {
    const error = rejects(requestWith([0xdb, ...u32(0xffffffff), 0x61]), ErrorCode.LIMIT_EXCEEDED, '"value"');
    assert.deepEqual(error.details, { limit: 'maxStringBytes', max: limits.maxStringBytes, actual: 0xffffffff });
  });

  test('lengths under the limits but beyond the bytes present are PROTOCOL (truncated), for str, array and map', () => {
    rejects(requestWith([0xdb, ...u32(1000), 0x61, 0x62]), ErrorCode.PROTOCOL, /truncated msgpack: string declares 1000 bytes but only 2 remain at "value"/);
    rejects(requestWith([0xdd, ...u32(50_000), 0xc0]), ErrorCode.PROTOCOL, /array declares 50000 entries but only 1 bytes remain at "value"/);
    rejects(requestWith([0xdf, ...u32(50_000), 0xc0]), ErrorCode.PROTOCOL, /map declares 50000 entries/);
  });

  test('an array16 length bomb (65,535 claimed, a few bytes present) is PROTOCOL at once', () => {
    rejects(bytes([0xdc, 0xff, 0xff, 0xc0, 0xc0]), ErrorCode.PROTOCOL, /array declares 65535 entries but only 2 bytes remain at the top level/);
  });

  test('a 6 KB payload of nested array16 bombs fails on the first one, naming its index', () => {
    const inner = Array.from({ length: 2000 }, () => [0xdc, 0xff, 0xff]).flat();
    const start = performance.now();
    rejects(bytes([0xdc, 0x07, 0xd0], inner), ErrorCode.PROTOCOL, /array declares 65535 entries .* at "0"$/);
    assert.ok(performance.now() - start < 100);
  });

  test('a map whose entries need more bytes than remain is refused (each entry is a key and a value)', () => {
    // 2 entries claimed, 3 bytes left: enough for 3 one-byte items, not for 4.
    rejects(bytes([0x82, 0xa1, 0x61, 0xc0]), ErrorCode.PROTOCOL, /map declares 2 entries but only 3 bytes remain at the top level/);
  });
});

describe('codec depth', () => {
  test('100,000 nested arrays are LIMIT_EXCEEDED (maxDepth) quickly', () => {
    const start = performance.now();
    const error = rejects(nestedArrays(100_000), ErrorCode.LIMIT_EXCEEDED, /nesting deeper than maxDepth 64/);
    assert.ok(performance.now() - start < 200, 'the walk stops at the limit instead of reading on');
    assert.deepEqual(error.details, { limit: 'maxDepth', max: 64 });
  });

  test('nesting of exactly maxDepth passes, maxDepth + 1 fails', () => {
    assert.deepEqual(decodeValue(nestedArrays(64), limits), JSON.parse('['.repeat(64) + 'null' + ']'.repeat(64)));
    rejects(nestedArrays(65), ErrorCode.LIMIT_EXCEEDED, `"${Array(64).fill('0').join('.')}"`);
  });

  test('an empty container counts as a level of nesting', () => {
    assert.doesNotThrow(() => decodeValue(nestedArrays(63, [0x90]), limits));
    rejects(nestedArrays(64, [0x90]), ErrorCode.LIMIT_EXCEEDED);
    rejects(nestedArrays(64, [0x80]), ErrorCode.LIMIT_EXCEEDED);
  });

  test('maps nest the same way; the path names each key', () => {
    const deep = (n: number): unknown => (n === 0 ? 1 : { k: deep(n - 1) });
    assert.deepEqual(decodeValue(enc(deep(64)), limits), deep(64));
    rejects(enc(deep(65)), ErrorCode.LIMIT_EXCEEDED, `"${Array(64).fill('k').join('.')}"`);
  });

  test('the request envelope is one level: a set value may nest maxDepth - 1 deep', () => {
    rejects(requestWith(nestedArrays(64)), ErrorCode.LIMIT_EXCEEDED);
    assert.doesNotThrow(() => decodeValue(requestWith(nestedArrays(63)), limits));
  });

  test('a custom maxDepth is honoured', () => {
    assert.doesNotThrow(() => decodeValue(nestedArrays(3), { ...limits, maxDepth: 3 }));
    rejects(nestedArrays(4), ErrorCode.LIMIT_EXCEEDED, /maxDepth 3/, { ...limits, maxDepth: 3 });
  });
});

describe('codec size limits at the boundary', () => {
  test('a string of exactly maxStringBytes passes, one byte more fails', () => {
    const max = limits.maxStringBytes;
    assert.equal((decodeValue(enc('x'.repeat(max)), limits) as string).length, max);
    const error = rejects(enc('x'.repeat(max + 1)), ErrorCode.LIMIT_EXCEEDED, 'the top level');
    assert.deepEqual(error.details, { limit: 'maxStringBytes', max, actual: max + 1 });
  });

  test('maxStringBytes counts UTF-8 bytes, not characters', () => {
    const small = { ...limits, maxStringBytes: 8 };
    assert.doesNotThrow(() => decodeValue(enc('éééé'), small)); // 8 bytes
    rejects(enc('ééééé'), ErrorCode.LIMIT_EXCEEDED, undefined, small); // 10 bytes, 5 characters
  });

  test('map keys are strings and obey maxStringBytes too', () => {
    rejects(enc({ ['k'.repeat(9)]: 1 }), ErrorCode.LIMIT_EXCEEDED, undefined, { ...limits, maxStringBytes: 8 });
  });

  test('an array of exactly maxArrayLength passes, one more fails', () => {
    const max = limits.maxArrayLength;
    assert.equal((decodeValue(enc(new Array(max).fill(null)), limits) as unknown[]).length, max);
    const error = rejects(enc(new Array(max + 1).fill(null)), ErrorCode.LIMIT_EXCEEDED);
    assert.deepEqual(error.details, { limit: 'maxArrayLength', max, actual: max + 1 });
  });

  test('a map of maxArrayLength + 1 entries fails the same limit', () => {
    const small = { ...limits, maxArrayLength: 3 };
    assert.doesNotThrow(() => decodeValue(enc({ a: 1, b: 2, c: 3 }), small));
    rejects(enc({ a: 1, b: 2, c: 3, d: 4 }), ErrorCode.LIMIT_EXCEEDED, /map of 4 entries exceeds maxArrayLength 3/, small);
  });
});

describe('codec prototype keys', () => {
  for (const key of FORBIDDEN_SEGMENTS) {
    test(`"${key}" as a key is BAD_REQUEST at the top level, nested, and inside arrays`, () => {
      const cases: [unknown, string][] = [
        [JSON.parse(`{"${key}": 1}`), `"${key}"`],
        [JSON.parse(`{"id": 1, "value": {"a": {"${key}": {"polluted": true}}}}`), `"value.a.${key}"`],
        [JSON.parse(`{"value": [1, {"b": [{"${key}": {"polluted": true}}]}]}`), `"value.1.b.0.${key}"`],
      ];
      for (const [value, where] of cases) {
        const error = rejects(enc(value), ErrorCode.BAD_REQUEST, where);
        assert.deepEqual(error.details, { key });
      }
    });
  }

  test('a prototype key hidden anywhere in any JSON value is refused, and Object.prototype is never touched', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(jsonValue(), fc.constantFrom(...FORBIDDEN_SEGMENTS), fc.nat(), (value, key, pick) => {
        const poisoned = insertKey(value, key, pick);
        rejects(enc(poisoned), ErrorCode.BAD_REQUEST, /forbidden key/);
      }),
      { numRuns: 300 },
    );
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), before);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('prototype words as string values (not keys) are ordinary data', () => {
    assert.deepEqual(decodeValue(enc({ a: '__proto__', b: ['constructor', 'prototype'] }), limits), {
      a: '__proto__',
      b: ['constructor', 'prototype'],
    });
  });

  test('near misses of prototype keys are ordinary keys', () => {
    const value = JSON.parse('{"__proto_": 1, "constructors": 2, "Prototype": 3, "__PROTO__": 4}');
    assert.deepEqual(decodeValue(enc(value), limits), value);
  });
});

describe('codec non-JSON types', () => {
  const cases: [string, number[], ErrorCode, RegExp][] = [
    ['bin8', [0xc4, 0x01, 0x00], ErrorCode.BAD_REQUEST, /binary values/],
    ['bin16', [0xc5, 0x00, 0x01, 0x00], ErrorCode.BAD_REQUEST, /binary values/],
    ['bin32', [0xc6, ...u32(1), 0x00], ErrorCode.BAD_REQUEST, /binary values/],
    ['fixext1', [0xd4, 0x01, 0x00], ErrorCode.BAD_REQUEST, /extension type \(0xd4\)/],
    ['fixext4 timestamp (-1)', [0xd6, 0xff, 0, 0, 0, 0], ErrorCode.BAD_REQUEST, /extension type \(0xd6\)/],
    ['fixext8', [0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0], ErrorCode.BAD_REQUEST, /extension/],
    ['fixext16', [0xd8, 0x01, ...new Array(16).fill(0)], ErrorCode.BAD_REQUEST, /extension/],
    ['ext8', [0xc7, 0x01, 0x01, 0x00], ErrorCode.BAD_REQUEST, /extension type \(0xc7\)/],
    ['ext16', [0xc8, 0x00, 0x01, 0x01, 0x00], ErrorCode.BAD_REQUEST, /extension/],
    ['ext32', [0xc9, ...u32(1), 0x01, 0x00], ErrorCode.BAD_REQUEST, /extension/],
    ['float64 NaN', [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], ErrorCode.BAD_REQUEST, /not finite/],
    ['float64 +Infinity', [0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0], ErrorCode.BAD_REQUEST, /not finite/],
    ['float64 -Infinity', [0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0], ErrorCode.BAD_REQUEST, /not finite/],
    ['float32 NaN', [0xca, 0x7f, 0xc0, 0, 0], ErrorCode.BAD_REQUEST, /not finite/],
    ['float32 Infinity', [0xca, 0x7f, 0x80, 0, 0], ErrorCode.BAD_REQUEST, /not finite/],
    ['uint64 2^53', [0xcf, ...u64(2n ** 53n)], ErrorCode.BAD_REQUEST, /integer 9007199254740992 is outside the safe integer range ±9007199254740991/],
    ['uint64 12345678901234567890', [0xcf, ...u64(12345678901234567890n)], ErrorCode.BAD_REQUEST, /integer 12345678901234567890 is outside/],
    ['float64 2^53', [0xcb, 0x43, 0x40, 0, 0, 0, 0, 0, 0], ErrorCode.BAD_REQUEST, /number 9007199254740992 is outside the safe integer range/],
    ['uint64 2^64-1', [0xcf, ...u64(2n ** 64n - 1n)], ErrorCode.BAD_REQUEST, /outside the safe integer range/],
    ['int64 -(2^53)', [0xd3, ...u64(-(2n ** 53n))], ErrorCode.BAD_REQUEST, /outside the safe integer range/],
    ['never-used byte 0xc1', [0xc1], ErrorCode.PROTOCOL, /invalid msgpack byte 0xc1/],
  ];
  for (const [name, raw, code, message] of cases) {
    test(`${name} is ${code}, naming where`, () => {
      rejects(Buffer.from(raw), code, message);
      rejects(requestWith(raw), code, / at "value"$/);
      rejects(requestWith(bytes([0x91], raw)), code, / at "value.0"$/);
    });
  }

  test('the largest safe integers pass as uint64 / int64', () => {
    assert.equal(decodeValue(Buffer.from([0xcf, ...u64(2n ** 53n - 1n)]), limits), Number.MAX_SAFE_INTEGER);
    assert.equal(decodeValue(Buffer.from([0xd3, ...u64(-(2n ** 53n - 1n))]), limits), Number.MIN_SAFE_INTEGER);
  });

  const keys: [string, number[]][] = [
    ['positive int', [0x01]],
    ['negative int', [0xff]],
    ['nil', [0xc0]],
    ['boolean', [0xc3]],
    ['float', [0xcb, 0, 0, 0, 0, 0, 0, 0, 0]],
    ['array', [0x90]],
    ['map', [0x80]],
    ['bin', [0xc4, 0x00]],
  ];
  for (const [name, key] of keys) {
    test(`a map key that is a ${name} is BAD_REQUEST`, () => {
      rejects(bytes([0x81], key, [0xc0]), ErrorCode.BAD_REQUEST, /map key is not a string at "\(key\)"/);
      rejects(requestWith(bytes([0x82, 0xa1, 0x61, 0x01], key, [0xc0])), ErrorCode.BAD_REQUEST, /map key is not a string at "value.a"$/);
    });
  }
});

describe('codec framing of the payload itself', () => {
  test('an empty payload is PROTOCOL', () => {
    rejects(Buffer.alloc(0), ErrorCode.PROTOCOL, /empty msgpack payload/);
  });

  test('bytes after the value are PROTOCOL (trailing bytes)', () => {
    rejects(bytes(enc({ a: 1 }), [0xc0]), ErrorCode.PROTOCOL, /1 trailing bytes after the msgpack value/);
    rejects(bytes(enc(1), enc(2), enc(3)), ErrorCode.PROTOCOL, /2 trailing bytes/);
  });

  test('every proper prefix of any encoded value is rejected as truncated (PROTOCOL)', () => {
    fc.assert(
      fc.property(jsonValue(), (value) => {
        const full = enc({ id: 1, op: 'set', path: 'a', value });
        for (let n = 0; n < full.length; n++) rejects(full.subarray(0, n), ErrorCode.PROTOCOL);
      }),
      { numRuns: 150 },
    );
  });

  test('payloads inside a larger buffer (a frame view) decode from their own bounds only', () => {
    const frame = encodeMessage({ id: 3, op: 'ping' });
    const padded = bytes([0xff, 0xff], frame, [0xc1, 0xc1]);
    assert.deepEqual(decodeValue(padded.subarray(6, 6 + frame.length - 4), limits), { id: 3, op: 'ping' });
  });
});

describe('DecodeError.requestId', () => {
  test('is the top-level id when it came before the problem, in every unsigned int width', () => {
    for (const id of [0, 7, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1]) {
      const error = rejects(requestWith([0xc1], id), ErrorCode.PROTOCOL);
      assert.equal(error.requestId, id, `id ${id}`);
    }
  });

  test('is set for a problem deep inside a later key, and for truncation after the id', () => {
    assert.equal(rejects(requestWith(bytes([0x91, 0x81], enc('__proto__'), [0x01]), 42), ErrorCode.BAD_REQUEST).requestId, 42);
    const full = enc({ id: 9, op: 'set', path: 'a', value: [1, 2, 3] });
    assert.equal(rejects(full.subarray(0, full.length - 1), ErrorCode.PROTOCOL).requestId, 9);
  });

  test('is undefined when the problem comes before the id', () => {
    const payload = bytes([0x82], enc('value'), [0xc1], enc('id'), enc(5));
    assert.equal(rejects(payload, ErrorCode.PROTOCOL).requestId, undefined);
  });

  test('is undefined when id is not an unsigned int, or is nested', () => {
    assert.equal(rejects(bytes([0x82], enc('id'), enc(-1), enc('value'), [0xc1]), ErrorCode.PROTOCOL).requestId, undefined);
    assert.equal(rejects(bytes([0x82], enc('id'), enc('7'), enc('value'), [0xc1]), ErrorCode.PROTOCOL).requestId, undefined);
    assert.equal(rejects(bytes([0x81], enc('value'), [0x82], enc('id'), enc(3), enc('x'), [0xc1]), ErrorCode.PROTOCOL).requestId, undefined);
  });

  test('is undefined when the id value itself is cut off', () => {
    assert.equal(rejects(bytes([0x82], enc('id'), [0xce, 0x00, 0x01]), ErrorCode.PROTOCOL).requestId, undefined);
  });

  test(
    'is set when the only problem is trailing bytes after a complete request',
    () => {
      const error = rejects(bytes(enc({ id: 11, op: 'ping' }), [0xc0]), ErrorCode.PROTOCOL);
      assert.equal(error.requestId, 11);
    },
  );
});

describe('codec fuzz', () => {
  const small: DecodeLimits = { maxDepth: 8, maxArrayLength: 16, maxStringBytes: 32 };

  /** Decodes and checks the only two allowed outcomes: a plain JSON value, or a ProtocolError. */
  function decodeOrProtocolError(payload: Uint8Array, decodeLimits: DecodeLimits): void {
    let value: unknown;
    try {
      value = decodeValue(payload, decodeLimits);
    } catch (error) {
      assert.ok(error instanceof ProtocolError, `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      assert.ok(error instanceof DecodeError);
      return;
    }
    assert.ok(isPlainJson(value), `decoded a value JSON cannot hold: ${String(value)}`);
  }

  test('random bytes never throw anything but ProtocolError, and never hang', () => {
    const start = performance.now();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.boolean(), (payload, useSmall) => {
        decodeOrProtocolError(payload, useSmall ? small : limits);
      }),
      { numRuns: 3000 },
    );
    assert.ok(performance.now() - start < 10_000);
  });

  test('random mutations of valid messages never throw anything but ProtocolError', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), byte: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.nat(), jsonValue(), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (id, value, mutations, useSmall) => {
        let payload = [...enc({ id, op: 'set', path: ['a', '0'], value })];
        for (const m of mutations) {
          const at = payload.length === 0 ? 0 : m.at % payload.length;
          if (m.kind === 'flip') payload[at] = m.byte;
          else if (m.kind === 'insert') payload.splice(at, 0, m.byte);
          else if (m.kind === 'delete') payload.splice(at, 1);
          else payload = payload.slice(0, at);
        }
        decodeOrProtocolError(Buffer.from(payload), useSmall ? small : limits);
      }),
      { numRuns: 2000 },
    );
  });

  test('headers of every msgpack type followed by random bytes never throw anything but ProtocolError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 24 }), (head, rest) => {
        decodeOrProtocolError(bytes([0x81, 0xa1, 0x76, head], Buffer.from(rest)), small);
      }),
      { numRuns: 2000 },
    );
  });
});

/** Puts `key` into the `pick`-th object of `value` (wrapping `value` when it has none). */
function insertKey(value: Json, key: string, pick: number): Json {
  const objects: Record<string, Json>[] = [];
  const walk = (v: Json): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      objects.push(v);
      Object.values(v).forEach(walk);
    }
  };
  const copy = structuredClone(value);
  walk(copy);
  const poison = JSON.parse(`{"${key}": {"polluted": true}}`) as Record<string, Json>;
  if (objects.length === 0) return [copy, poison];
  Object.defineProperty(objects[pick % objects.length]!, key, { value: poison[key], enumerable: true, configurable: true, writable: true });
  return copy;
}
