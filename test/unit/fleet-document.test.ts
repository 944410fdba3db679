// The fleet document from etcd keys: paths from key segments, values from JSON
// text, and every key that cannot be placed reported (never thrown), with a
// result that does not depend on the order the keys come in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildFleetDocument } from '../../sidecar/fleet/fleet-document.js';

const build = (entries: Record<string, string>) => buildFleetDocument(new Map(Object.entries(entries)));

test('key segments become the path, JSON text the value', () => {
  assert.deepEqual(build({ 'server/port': '8080', 'server/host': '"h"', 'feature': '{"a":1}', 'list': '[1,2]' }).document, {
    server: { port: 8080, host: 'h' },
    feature: { a: 1 },
    list: [1, 2],
  });
});

test('a deeper key replaces the same path inside a shallower key\'s object; objects merge per key', () => {
  const { document, problems } = build({ a: '{"b":1,"c":{"x":1}}', 'a/b': '2', 'a/c/y': '3' });
  assert.deepEqual(document, { a: { b: 2, c: { x: 1, y: 3 } } });
  assert.deepEqual(problems, []);
});

test('keys that cannot be placed are reported with the reason and left out', () => {
  const { document, problems } = build({
    a: '1',
    'a/b': '2',
    'l': '[1]',
    'l/0': '5',
    text: 'not json',
    'x//y': '1',
    'p/__proto__': '1',
    'constructor': '1',
    v: '{"k":{"prototype":1}}',
    ok: 'true',
  });
  assert.deepEqual(document, { a: 1, l: [1], ok: true });
  assert.deepEqual(
    problems.map((p) => [p.key, p.kind]).sort(),
    [
      ['a/b', 'conflict'],
      ['constructor', 'forbidden-segment'],
      ['l/0', 'conflict'],
      ['p/__proto__', 'forbidden-segment'],
      ['text', 'not-json'],
      ['v', 'forbidden-segment'],
      ['x//y', 'empty-segment'],
    ],
  );
  assert.match(problems.find((p) => p.key === 'a/b')?.message ?? '', /lies below "a"/);
  assert.match(problems.find((p) => p.key === 'text')?.message ?? '', /value of "text" is not JSON text/);
});

test('a value nested past the depth limit is reported, not walked', () => {
  const deep = '['.repeat(100) + ']'.repeat(100);
  const { document, problems } = build({ 'a/b': deep });
  assert.deepEqual(document, {});
  assert.equal(problems[0]?.kind, 'too-deep');
});

test('the document does not depend on the order of the keys', () => {
  const key = fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
  const value = fc.oneof(fc.constant('1'), fc.constant('{"a":2}'), fc.constant('{"b":{"c":3}}'), fc.constant('"s"'), fc.constant('nope'));
  fc.assert(
    fc.property(fc.array(fc.tuple(key, value), { maxLength: 12 }), (pairs) => {
      const map = new Map(pairs);
      const reversed = new Map([...map].reverse());
      assert.deepEqual(buildFleetDocument(map), buildFleetDocument(reversed));
    }),
  );
});
