// documentText: the file's text is exactly JSON.stringify(doc, null, 2) + "\n"
// and its size exactly the UTF-8 byte count, also after copy-on-write edits
// that reuse cached text of untouched objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from '../../protocol/index.js';
import { deleteIn, setIn, type JsonObject } from '../../sidecar/store/document.js';
import { documentText } from '../../sidecar/store/json-text.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';
import { jsonObject, jsonValue } from '../fixtures/json-values.js';

function assertText(doc: object): void {
  const expected = JSON.stringify(doc, null, 2) + '\n';
  const actual = documentText(doc);
  assert.equal(actual.text, expected);
  assert.equal(actual.bytes, Buffer.byteLength(expected));
}

const unicode = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom('é', '€', '😀', '\u2028', '\u0000', '"\\', '\ud800'));

describe('documentText', () => {
  test('an empty document is "{}\\n"', () => {
    assert.deepEqual(documentText({}), { text: '{}\n', bytes: 3 });
  });

  test('a small document is pretty JSON with 2-space indent, keys in document order, and a trailing newline', () => {
    const doc = { z: 1, a: [1, { b: null }], e: {}, l: [] };
    assert.equal(documentText(doc).text, '{\n  "z": 1,\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "e": {},\n  "l": []\n}\n');
  });

  test('text and byte count equal JSON.stringify(doc, null, 2) + "\\n", for any document including non-ASCII', () => {
    fc.assert(
      fc.property(jsonObject({ string: unicode, maxDepth: 5 }), (doc) => assertText(doc)),
      { numRuns: 500 },
    );
  });

  test('numbers print exactly as JSON.stringify prints them', () => {
    assertText({ n: [0, -1, 1.5, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, -0, 123456789.123] });
  });

  test('the same object at two depths is rendered with the right indentation at each', () => {
    const shared = { k: [1, 2] };
    const doc = { a: shared, b: { c: shared }, d: [shared] };
    assertText(doc);
    assertText(shared);
    assertText(doc);
  });

  test('after any sequence of copy-on-write edits the text is never stale', () => {
    const segment = fc.constantFrom('a', 'b', '0', '1', 'ключ');
    const edit = fc.record({
      kind: fc.constantFrom('set', 'delete'),
      path: fc.array(segment, { minLength: 1, maxLength: 3 }),
      value: jsonValue({ string: unicode, maxDepth: 2 }),
    });
    fc.assert(
      fc.property(jsonObject({ key: fc.constantFrom('a', 'b', '0', '1', 'ключ'), string: unicode, maxDepth: 3 }), fc.array(edit, { maxLength: 10 }), (start, edits) => {
        let doc: JsonObject = deepFreeze(start);
        const versions: JsonObject[] = [doc];
        assertText(doc);
        for (const { kind, path, value } of edits) {
          try {
            doc = kind === 'set' ? setIn(doc, path, value) : deleteIn(doc, path).root;
          } catch (error) {
            // A refused edit (through a scalar, past an array's end) changes nothing.
            if (!(error instanceof ProtocolError)) throw error;
            continue;
          }
          deepFreeze(doc);
          versions.push(doc);
          assertText(doc);
        }
        // Older versions, whose objects are partly shared with newer ones, still print themselves.
        for (const version of versions) assertText(version);
      }),
      { numRuns: 300 },
    );
  });

  test('a large document edited in one place is rendered again correctly', () => {
    const big: JsonObject = {};
    for (let i = 0; i < 2000; i++) big[`key${i}`] = { i, tags: ['x', 'ÿ', '😀'], nested: { deep: [i, i + 1] } };
    deepFreeze(big);
    assertText(big);
    const edited = setIn(big, ['key1000', 'nested', 'deep', '1'], 'changed ✓');
    assertText(edited);
    assertText(deleteIn(edited, ['key0']).root);
    assertText(big);
  });
});
