// Copy-on-write edits of the JSON document: set creates what is missing,
// refuses to step through scalars or past the end of arrays, delete removes,
// and the input document is never touched.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, ProtocolError } from '../../protocol/index.js';
import { deleteIn, setIn, type JsonObject } from '../../sidecar/store/document.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';
import { jsonObject, jsonValue } from '../fixtures/json-values.js';
import { ReferenceRejected, referenceDelete, referenceSet } from '../fixtures/reference-store.js';

function badRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof ProtocolError && error.code === ErrorCode.BAD_REQUEST && message.test(error.message));
}

describe('setIn', () => {
  test('creates every missing intermediate object', () => {
    const doc = deepFreeze({});
    assert.deepEqual(setIn(doc, ['a', 'b', 'c'], 1), { a: { b: { c: 1 } } });
  });

  test('adds beside existing keys and keeps key order, new keys last', () => {
    const doc = deepFreeze({ z: 1, a: { y: 2 } });
    const next = setIn(doc, ['a', 'x'], 3);
    assert.deepEqual(next, { z: 1, a: { y: 2, x: 3 } });
    assert.deepEqual(Object.keys(setIn(doc, ['z'], 9)), ['z', 'a']);
  });

  test('replaces a whole subtree', () => {
    assert.deepEqual(setIn(deepFreeze({ a: { b: { c: 1 } } }), ['a'], [1, 2]), { a: [1, 2] });
  });

  test('setting the root replaces the document, which must be an object', () => {
    const doc = deepFreeze({ a: 1 });
    assert.deepEqual(setIn(doc, [], { b: 2 }), { b: 2 });
    for (const value of [[], 1, 'x', null, true]) badRequest(() => setIn(doc, [], value), /the whole document must be an object/);
  });

  test('stepping through a scalar is BAD_REQUEST naming the scalar', () => {
    const doc = deepFreeze({ s: 'text', n: 1, z: null, b: true, a: { deep: 0 } });
    badRequest(() => setIn(doc, ['s', 'x'], 1), /cannot set s\.x: s is a string, not an object or array/);
    badRequest(() => setIn(doc, ['n', 'x'], 1), /n is a number/);
    badRequest(() => setIn(doc, ['z', 'x'], 1), /z is null/);
    badRequest(() => setIn(doc, ['b', 'x'], 1), /b is a boolean/);
    badRequest(() => setIn(doc, ['a', 'deep', 'x', 'y'], 1), /cannot set a\.deep\.x\.y: a\.deep is a number/);
  });

  test('the error carries the path in details', () => {
    try {
      setIn(deepFreeze({ s: 'x' }), ['s', 'k'], 1);
      assert.fail('expected BAD_REQUEST');
    } catch (error) {
      assert.deepEqual((error as ProtocolError).details, { path: 's.k' });
    }
  });

  test('arrays: an existing index is replaced', () => {
    assert.deepEqual(setIn(deepFreeze({ l: ['a', 'b'] }), ['l', '1'], 'B'), { l: ['a', 'B'] });
  });

  test('arrays: index == length appends', () => {
    assert.deepEqual(setIn(deepFreeze({ l: ['a', 'b'] }), ['l', '2'], 'c'), { l: ['a', 'b', 'c'] });
    assert.deepEqual(setIn(deepFreeze({ l: [] }), ['l', '0'], 'first'), { l: ['first'] });
  });

  test('arrays: an index beyond the length is BAD_REQUEST, never a hole', () => {
    badRequest(() => setIn(deepFreeze({ l: ['a'] }), ['l', '2'], 'x'), /"2" is not an index in 0\.\.1 of the array at l/);
    badRequest(() => setIn(deepFreeze({ l: [] }), ['l', '1'], 'x'), /not an index in 0\.\.0/);
  });

  test('arrays: only an existing element can be stepped through (no creation inside arrays)', () => {
    assert.deepEqual(setIn(deepFreeze({ l: [{}] }), ['l', '0', 'k'], 1), { l: [{ k: 1 }] });
    badRequest(() => setIn(deepFreeze({ l: [{}] }), ['l', '1', 'k'], 1), /"1" is not an index in 0\.\.0/);
  });

  test('arrays: "01", "-1" and names are not indexes', () => {
    const doc = deepFreeze({ l: ['a', 'b'] });
    for (const segment of ['01', '-1', 'x', 'length', '1.0']) {
      badRequest(() => setIn(doc, ['l', segment], 'x'), /is not an index/);
    }
  });

  test('"01" on an object is an ordinary key', () => {
    assert.deepEqual(setIn(deepFreeze({ o: {} }), ['o', '01'], 1), { o: { '01': 1 } });
  });

  test('keys named like Object.prototype members are ordinary own keys', () => {
    const next = setIn(deepFreeze({}), ['toString', 'valueOf'], 1);
    assert.deepEqual(Object.keys(next), ['toString']);
    assert.equal(Object.getPrototypeOf(next), Object.prototype);
  });
});

describe('deleteIn', () => {
  test('removes an object key, the rest stays', () => {
    const result = deleteIn(deepFreeze({ a: { b: 1, c: 2 } }), ['a', 'b']);
    assert.deepEqual(result, { root: { a: { c: 2 } }, existed: true });
  });

  test('removes an array element and shifts the rest down', () => {
    assert.deepEqual(deleteIn(deepFreeze({ l: ['a', 'b', 'c'] }), ['l', '0']).root, { l: ['b', 'c'] });
  });

  test('a missing path is not an error: existed false, the same document back', () => {
    const doc = deepFreeze({ a: { b: 1 }, l: [1], s: 'x' });
    for (const path of [['x'], ['a', 'x'], ['a', 'b', 'c'], ['l', '1'], ['l', '01'], ['s', 'x'], ['x', 'y', 'z']]) {
      const result = deleteIn(doc, path);
      assert.equal(result.existed, false, path.join('.'));
      assert.equal(result.root, doc, path.join('.'));
    }
  });

  test('deleting the root leaves an empty document; existed says whether it had anything', () => {
    assert.deepEqual(deleteIn(deepFreeze({ a: 1 }), []), { root: {}, existed: true });
    assert.deepEqual(deleteIn(deepFreeze({}), []), { root: {}, existed: false });
  });

  test('a null value exists and can be deleted', () => {
    assert.deepEqual(deleteIn(deepFreeze({ n: null }), ['n']), { root: {}, existed: true });
  });
});

describe('copy-on-write', () => {
  test('untouched subtrees are shared with the old document, touched ones are new objects', () => {
    const doc = deepFreeze({ keep: { big: [1, 2, 3] }, edit: { x: 1, sibling: { s: 1 } } });
    const next = setIn(doc, ['edit', 'x'], 2);
    assert.equal(next.keep, doc.keep);
    assert.equal((next.edit as JsonObject).sibling, doc.edit.sibling);
    assert.notEqual(next.edit, doc.edit);
    assert.notEqual(next, doc);
    const removed = deleteIn(doc, ['edit', 'x']).root;
    assert.equal(removed.keep, doc.keep);
  });

  test('random edits of a deep-frozen document never write to it, and match a naive clone-and-assign reference', () => {
    const segment = fc.constantFrom('a', 'b', '0', '1', '2', '01');
    const smallValue = jsonValue({ key: fc.constantFrom('a', 'b', '0', '1'), maxDepth: 3 });
    const op = fc.record({
      kind: fc.constantFrom('set', 'delete'),
      path: fc.array(segment, { maxLength: 4 }),
      value: smallValue,
    });
    fc.assert(
      fc.property(jsonObject({ key: fc.constantFrom('a', 'b', '0', '1'), maxDepth: 3 }), fc.array(op, { maxLength: 8 }), (start, ops) => {
        const original = JSON.stringify(start);
        let doc = deepFreeze(start) as JsonObject;
        let reference = structuredClone(start);
        for (const { kind, path, value } of ops) {
          const previous = doc;
          const snapshot = JSON.stringify(previous);
          if (kind === 'set') {
            let expected: ReturnType<typeof referenceSet> | undefined;
            try {
              expected = referenceSet(reference, path, value);
            } catch (error) {
              if (!(error instanceof ReferenceRejected)) throw error;
            }
            if (expected === undefined) {
              assert.throws(() => setIn(doc, path, value), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_REQUEST);
            } else {
              doc = deepFreeze(setIn(doc, path, value));
              reference = expected;
            }
          } else {
            const expected = referenceDelete(reference, path);
            const result = deleteIn(doc, path);
            assert.equal(result.existed, expected.existed);
            doc = deepFreeze(result.root);
            reference = expected.doc;
          }
          assert.deepEqual(doc, reference);
          // Key order is part of the file's text.
          assert.equal(JSON.stringify(doc), JSON.stringify(reference));
          assert.equal(JSON.stringify(previous), snapshot, 'the old version is unchanged');
        }
        assert.equal(JSON.stringify(start), original);
      }),
      { numRuns: 400 },
    );
  });
});
