// The client's msgpack codec against msgpackr, which the sidecar uses: the
// same bytes for every plain value (boundaries of each format, and random
// documents), values it does not handle left to msgpackr itself, and the same
// values read back from anything the walk lets through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr/pack';
import { Unpackr } from 'msgpackr/unpack';
import { decodeValue, encodeValue, PACKR_OPTIONS } from '../../protocol/plain-msgpack.js';
import { seededRandom } from '../helpers/seeded-random.js';

const packr = new Packr(PACKR_OPTIONS as ConstructorParameters<typeof Packr>[0]);
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const limits = { maxDepth: 1000, maxArrayLength: 2 ** 32, maxStringBytes: 2 ** 32 };
const lenient = { exact: false };

function sameAsMsgpackr(value: unknown, label: string): void {
  const ours = encodeValue(value);
  assert.ok(Buffer.from(packr.pack(value)).equals(ours), `${label}: bytes differ from msgpackr's`);
  assert.deepEqual(decodeValue(ours, limits, lenient), unpackr.unpack(ours), `${label}: read back differently`);
}

const ints = [0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1];
const floats = [0.5, -0.5, 1e300, -1e-300, Number.MIN_VALUE, Math.PI, -0];
const text = (bytes: number, unit: string) => unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit))).slice(0, Math.ceil(bytes / Buffer.byteLength(unit)) * unit.length);

test('every format boundary: numbers, strings (one- to four-byte characters), arrays and maps of each header size', () => {
  for (const n of [...ints, ...floats]) sameAsMsgpackr(n, `number ${Object.is(n, -0) ? '-0' : n}`);
  for (const value of [null, true, false, {}, [], '']) sameAsMsgpackr(value, JSON.stringify(value));
  for (const unit of ['a', 'é', '€', '😀']) {
    for (const bytes of [31, 32, 255, 256, 65535, 65536, 70000]) {
      for (const delta of [-1, 0, 1]) sameAsMsgpackr(text(bytes + delta, unit), `string of ~${bytes + delta} bytes of ${unit}`);
    }
  }
  for (const length of [15, 16, 65535, 65536]) {
    sameAsMsgpackr(Array.from({ length }, (_, i) => i % 300), `array of ${length}`);
    sameAsMsgpackr(Object.fromEntries(Array.from({ length }, (_, i) => [`k${i}`, i])), `map of ${length}`);
  }
  sameAsMsgpackr({ a: undefined, b: 1, c: { d: undefined } }, 'undefined properties are left out');
  sameAsMsgpackr({ id: 7, op: 'set', path: 'server.port', value: { host: 'a', ports: [80, 443], tls: null } }, 'a request');
});

function randomJson(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 4 ? 6 : 8));
  switch (pick) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return ints[Math.floor(random() * ints.length)]! + (random() < 0.3 ? Math.floor(random() * 1000) : 0);
    case 3: return (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
    case 4: return Array.from({ length: Math.floor(random() * 40) }, () => String.fromCodePoint(Math.floor(random() * (random() < 0.8 ? 0x80 : 0xd7ff)))).join('');
    case 5: return text(Math.floor(random() * 300), ['x', 'ü', '漢', '🙂'][Math.floor(random() * 4)]!);
    case 6: return Array.from({ length: Math.floor(random() * 20) }, () => randomJson(random, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(random() * 20) }, (_, i) => [`${String.fromCharCode(97 + Math.floor(random() * 26))}${i}`, randomJson(random, depth + 1)]));
  }
}

test('property: random documents encode as msgpackr encodes them and read back as msgpackr reads them', () => {
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seededRandom(seed);
  for (let run = 0; run < 500; run++) sameAsMsgpackr(randomJson(random, 0), `seed ${seed} (SEED=${seed} replays it), run ${run}`);
});

test('values that are not plain JSON are left to msgpackr: the same bytes, or the same error', () => {
  class Point {
    x = 1;
  }
  const nested: unknown[] = [];
  let deep: unknown[] = nested;
  for (let i = 0; i < 600; i++) deep = [deep];
  for (const [label, value] of [
    ['a BigInt', 10n],
    ['a BigInt in a map', { port: 8080n }],
    ['a Date', new Date(0)],
    ['undefined in an array', [1, undefined, 2]],
    ['a short lone surrogate', 'a\ud800b'],
    ['a long lone surrogate', `${'x'.repeat(100)}\udc00`],
    ['a Map', new Map([['a', 1]])],
    ['a class instance', new Point()],
    ['an object with a null prototype', Object.assign(Object.create(null) as object, { a: 1 })],
    ['a key named constructor', { constructor: 1 }],
    ['600 levels of arrays', deep],
    ['an array whose iterator yields less than its length', Object.assign([1, 2, 3], { [Symbol.iterator]: function* () { yield 9; } })],
    ['an own hasOwnProperty that is not a function', { hasOwnProperty: 1, a: 2 }],
  ] as const) {
    assert.ok(Buffer.from(packr.pack(value)).equals(encodeValue(value)), `${label}: bytes differ from msgpackr's`);
  }
  for (const [label, value] of [
    ['a symbol', { a: Symbol('s') }],
    ['a BigInt past 64 bits', 2n ** 70n],
  ] as const) {
    const expected = (() => {
      try {
        packr.pack(value);
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    })();
    assert.throws(() => encodeValue(value), { message: expected }, label);
  }
});

test('payloads msgpackr writes in other ways than this codec (float32, 64-bit integers, wide headers for short values) read the same', () => {
  const payloads = [
    [0xca, 0x3f, 0xc0, 0x00, 0x00], // float32 1.5
    [0xcf, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01], // uint64 2^53 + 1: read as the nearest double
    [0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], // int64 -2
    [0xda, 0x00, 0x01, 0x61], // str16 "a"
    [0xdd, 0x00, 0x00, 0x00, 0x01, 0x01], // array32 [1]
    [0xdf, 0x00, 0x00, 0x00, 0x01, 0xa1, 0x61, 0xc3], // map32 {a: true}
    [0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02], // a repeated key: the last one wins, as in msgpackr
    [0xd0, 0x80], // int8 -128
  ];
  for (const bytes of payloads) {
    const payload = Buffer.from(bytes);
    assert.deepEqual(decodeValue(payload, limits, lenient), unpackr.unpack(payload), Buffer.from(bytes).toString('hex'));
  }
});
