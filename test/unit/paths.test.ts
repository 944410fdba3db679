// Dot paths: how they split, which segments are refused, and which segments
// count as array indexes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ErrorCode,
  ProtocolError,
  arrayIndex,
  childOf,
  formatPath,
  getAt,
  isPrefix,
  parsePath,
  type PathInput,
} from '../../protocol/index.js';

function badRequest(path: PathInput, message: RegExp): ProtocolError {
  let caught: ProtocolError | undefined;
  assert.throws(
    () => parsePath(path),
    (error: unknown) => {
      caught = error as ProtocolError;
      return error instanceof ProtocolError && error.code === ErrorCode.BAD_REQUEST && message.test(error.message);
    },
  );
  return caught!;
}

describe('parsePath', () => {
  test('a dot path splits on dots', () => {
    assert.deepEqual(parsePath('server.port'), ['server', 'port']);
    assert.deepEqual(parsePath('dirs.0'), ['dirs', '0']);
    assert.deepEqual(parsePath('a'), ['a']);
  });

  test('the empty string and the empty array are the whole document', () => {
    assert.deepEqual(parsePath(''), []);
    assert.deepEqual(parsePath([]), []);
  });

  test('an array of segments is taken as is, dots and all', () => {
    assert.deepEqual(parsePath(['a.b', 'c']), ['a.b', 'c']);
    assert.deepEqual(parsePath([' ', 'ключ', '😀']), [' ', 'ключ', '😀']);
  });

  test('a segment array is copied, never aliased', () => {
    const input = ['a', 'b'];
    const parsed = parsePath(input);
    parsed.push('c');
    assert.deepEqual(input, ['a', 'b']);
  });

  test('empty segments are BAD_REQUEST naming their position', () => {
    badRequest('a..b', /path "a..b" has an empty segment at position 1/);
    badRequest('.a', /empty segment at position 0/);
    badRequest('a.', /empty segment at position 1/);
    badRequest('.', /empty segment at position 0/);
    badRequest(['a', ''], /empty segment at position 1/);
  });

  for (const forbidden of ['__proto__', 'constructor', 'prototype']) {
    test(`"${forbidden}" is refused as any segment, in dot and array form`, () => {
      for (const path of [forbidden, `a.${forbidden}`, `${forbidden}.a`, `a.0.${forbidden}.b`]) {
        const error = badRequest(path, new RegExp(`path segment "${forbidden}" is forbidden`));
        assert.deepEqual(error.details, { segment: forbidden });
      }
      badRequest(['x', forbidden], /forbidden/);
    });
  }

  test('near misses of forbidden segments are ordinary segments', () => {
    assert.deepEqual(parsePath('__proto_.Constructor.prototypes'), ['__proto_', 'Constructor', 'prototypes']);
  });

  test('non-string segments are BAD_REQUEST (paths from untyped callers)', () => {
    badRequest(['a', 1 as unknown as string], /path segment 1 is not a string/);
  });

  test('any path made of safe non-empty segments splits back into its segments', () => {
    const segment = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).filter((s) => !s.includes('.') && !['__proto__', 'constructor', 'prototype'].includes(s));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (segments) => {
        assert.deepEqual(parsePath(formatPath(segments)), segments);
        assert.deepEqual(parsePath(segments), segments);
      }),
      { numRuns: 300 },
    );
  });
});

describe('arrayIndex', () => {
  test('canonical non-negative integers are indexes', () => {
    assert.equal(arrayIndex('0'), 0);
    assert.equal(arrayIndex('7'), 7);
    assert.equal(arrayIndex('12'), 12);
    assert.equal(arrayIndex('999999999'), 999_999_999);
  });

  test('"01", "-1" and other non-canonical forms are not indexes', () => {
    for (const segment of ['01', '00', '-1', '-0', '+1', '1.0', '1e2', ' 1', '1 ', '0x1', '', 'a', '１', '1000000000', 'Infinity', 'NaN']) {
      assert.equal(arrayIndex(segment), undefined, JSON.stringify(segment));
    }
  });

  test('every index prints back to the same segment', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 11 }), (segment) => {
        const index = arrayIndex(segment);
        if (index !== undefined) assert.equal(String(index), segment);
      }),
      { numRuns: 500 },
    );
    fc.assert(fc.property(fc.integer({ min: 0, max: 999_999_999 }), (n) => assert.equal(arrayIndex(String(n)), n)));
  });
});

describe('getAt / childOf', () => {
  const doc = { server: { port: 8080, tags: ['a', 'b'] }, nothing: null, zero: 0, flag: false, '01': 'key' };

  test('walks objects by key and arrays by index', () => {
    assert.equal(getAt(doc, ['server', 'port']), 8080);
    assert.equal(getAt(doc, ['server', 'tags', '1']), 'b');
    assert.equal(getAt(doc, []), doc);
  });

  test('null, 0 and false are values, not absences', () => {
    assert.equal(getAt(doc, ['nothing']), null);
    assert.equal(getAt(doc, ['zero']), 0);
    assert.equal(getAt(doc, ['flag']), false);
  });

  test('missing keys, non-canonical or out-of-range indexes and steps through scalars are undefined', () => {
    assert.equal(getAt(doc, ['server', 'host']), undefined);
    assert.equal(getAt(doc, ['server', 'tags', '01']), undefined);
    assert.equal(getAt(doc, ['server', 'tags', '-1']), undefined);
    assert.equal(getAt(doc, ['server', 'tags', '2']), undefined);
    assert.equal(getAt(doc, ['server', 'tags', 'length']), undefined);
    assert.equal(getAt(doc, ['server', 'port', 'x']), undefined);
    assert.equal(getAt(doc, ['nothing', 'x']), undefined);
  });

  test('"01" is an ordinary key in an object', () => {
    assert.equal(getAt(doc, ['01']), 'key');
  });

  test('inherited properties are never reached', () => {
    for (const key of ['toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      assert.equal(childOf(doc, key), undefined, key);
      assert.equal(childOf([], key), undefined, key);
    }
  });
});

describe('isPrefix', () => {
  test('a path is a prefix of itself and its descendants only', () => {
    assert.equal(isPrefix([], ['a']), true);
    assert.equal(isPrefix(['a'], ['a']), true);
    assert.equal(isPrefix(['a'], ['a', 'b']), true);
    assert.equal(isPrefix(['a', 'b'], ['a']), false);
    assert.equal(isPrefix(['a'], ['ab']), false);
    assert.equal(isPrefix(['a', 'c'], ['a', 'b']), false);
  });
});
