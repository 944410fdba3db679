// parseExactJson: JSON text is read exactly or refused with the path and
// line — big integers, non-finite and underflowing numbers, duplicate keys
// (also when spelled with escapes), lone surrogates, invalid UTF-8 and deep
// nesting — while every document the sidecar writes reads back unchanged.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseExactJson } from '../../protocol/index.js';
import { documentText } from '../../sidecar/store/json-text.js';
import { jsonValue } from '../fixtures/json-values.js';

function refused(source: string | Buffer, problem: RegExp, maxDepth = 63): void {
  const read = parseExactJson(source, maxDepth);
  assert.equal(read.ok, false, `expected ${String(source)} to be refused`);
  if (!read.ok) {
    assert.match(read.problem, problem);
    assert.equal(read.syntax, false);
  }
}

describe('parseExactJson', () => {
  test('every document the sidecar writes reads back exactly', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), jsonValue()), (doc) => {
        const read = parseExactJson(Buffer.from(documentText(doc).text), 63);
        assert.ok(read.ok, read.ok ? '' : read.problem);
        assert.deepEqual(read.value, JSON.parse(JSON.stringify(doc)));
      }),
      { numRuns: 300 },
    );
  });

  test('integers beyond ±(2^53−1) are refused with what JSON.parse would have made of them', () => {
    refused('{"a": 12345678901234567890}', /number 12345678901234567890 is outside the safe integer range ±9007199254740991 .*reads it as 12345678901234567000\) at "a" \(line 1, column 7\); store it as a string$/);
    refused('{"a": [0, 9007199254740993]}', /reads it as 9007199254740992\) at "a.1"/);
    refused('{"a": -9007199254740992}', /number -9007199254740992 is outside/);
    refused('{"a": 9007199254740992.0}', /is outside/);
    refused('{"a": 1e16}', /number 1e16 is outside/);
    refused('{"a": 1E300}', /number 1E300 is outside/);
    assert.deepEqual(parseExactJson('{"a": [9007199254740991, -9007199254740991, 123456789012345.5]}', 63), {
      ok: true,
      value: { a: [9007199254740991, -9007199254740991, 123456789012345.5] },
    });
  });

  test('numbers too large or too small for a double are refused, not read as Infinity or 0', () => {
    refused('{\n  "x": {\n    "big": 1e400\n  }\n}', /number 1e400 is too large for a double \(JSON.parse reads it as Infinity\) at "x.big" \(line 3, column 12\)/);
    refused('{"a": -1e400}', /reads it as -Infinity/);
    refused('{"a": 1e-400}', /number 1e-400 is too small for a double \(JSON.parse reads it as 0\)/);
    refused('{"a": 0.' + '0'.repeat(400) + '1}', /too small for a double/);
    assert.deepEqual(parseExactJson('{"a": [0, -0, 0.0, 0e10, 1e-300, 0.1]}', 63), { ok: true, value: { a: [0, -0, 0, 0, 1e-300, 0.1] } });
  });

  test('a duplicate key is refused, also when one is written with escapes', () => {
    refused('{"a": 1, "a": 2}', /duplicate key "a" \(JSON.parse would keep only the last\) at "a" \(line 1, column 10\)/);
    refused('{"o": {"b": 1, "\\u0062": 2}}', /duplicate key "b" .* at "o.b"/);
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    refused(JSON.stringify(many).replace('"k39"', '"k3"'), /duplicate key "k3"/);
    assert.equal(parseExactJson('{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}', 63).ok, true, 'equal keys in different objects');
    assert.equal(parseExactJson(JSON.stringify(many), 63).ok, true);
  });

  test('strings: escapes decode, a lone surrogate is refused, a pair is fine', () => {
    assert.deepEqual(parseExactJson('{"k\\"ey": "a\\\\", "e": "\\ud83d\\ude00", "q": "\\"{[1e400]}"}', 63), { ok: true, value: { 'k"ey': 'a\\', e: '😀', q: '"{[1e400]}' } });
    refused('{"s": "\\ud800"}', /lone surrogate .* at "s"/);
    refused('{"s": "\\udc00\\ud800"}', /lone surrogate/);
    refused('{"\\udfff": 1}', /lone surrogate/);
  });

  test('invalid UTF-8 is refused with its offset and path, in values and keys', () => {
    const value = Buffer.concat([Buffer.from('{"a": ["ok", "x'), Buffer.from([0xc3, 0x28]), Buffer.from('"]}')]);
    refused(value, /invalid UTF-8 \(byte 0xc3 at offset 15\) at "a.1" \(line 1, column 16\)/);
    const keys = Buffer.concat([Buffer.from('{"'), Buffer.from([0xff]), Buffer.from('": 1, "'), Buffer.from([0xfe]), Buffer.from('": 2}')]);
    refused(keys, /invalid UTF-8 \(byte 0xff at offset 2\) at "\uFFFD"/);
    refused(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), /invalid UTF-8 \(byte 0xed at offset 6\)/); // an encoded surrogate
    refused(Buffer.concat([Buffer.from('{"a": "'), Buffer.from([0xe2, 0x82])]), /invalid UTF-8 \(byte 0xe2 at offset 7\) \(line 1, column 8\)/); // not JSON either: only the line
    assert.deepEqual(parseExactJson(Buffer.from('{"é": "中😀"}'), 63), { ok: true, value: { é: '中😀' } });
  });

  test('nesting: exactly maxDepth passes, one more is refused naming where', () => {
    const nested = (depth: number): string => '{"a":'.repeat(depth - 1) + '[]' + '}'.repeat(depth - 1);
    assert.equal(parseExactJson(nested(63), 63).ok, true);
    refused(nested(64), /nesting deeper than 63 levels at "(a\.){62}a" \(line 1, column 316\)/);
    refused('{"a":' + '['.repeat(100) + ']'.repeat(100) + '}', /nesting deeper than 63 levels at "a(\.0){62}"/);
  });

  test('text that is not JSON is a syntax problem, told apart from an inexact one', () => {
    const read = parseExactJson('{"a": 1,,}', 63);
    assert.ok(!read.ok && read.syntax && /^invalid JSON: /.test(read.problem));
    const inexact = parseExactJson('12345678901234567890', 63);
    assert.ok(!inexact.ok && !inexact.syntax && / at the top level \(line 1, column 1\)/.test(inexact.problem));
  });
});
