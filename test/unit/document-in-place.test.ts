// Changes made in place (the checkpoint renderer's own copy) give the same
// document, key order included, as the copy-on-write edits of the store, for
// random sequences of sets and deletes on objects and arrays; the objects on
// each changed path are reported (their cached text is dropped).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { applyChanges, type JsonObject } from '../../sidecar/store/document.js';
import { applyChangeInPlace } from '../../sidecar/store/document-in-place.js';
import type { Change } from '../../sidecar/store/store-state.js';

const key = fc.constantFrom('a', 'b', 'c', '0', '1', '2');
const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.constant(null));
const value = fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 }), fc.array(leaf, { maxLength: 3 }));

/** A change valid on `doc` (as the store would have produced it), or undefined. */
function validChange(doc: JsonObject, segments: string[], set: unknown): Change | undefined {
  try {
    applyChanges(doc, [{ segments, value: set }]);
    return { segments, value: set };
  } catch {
    return undefined; // a path through a scalar or past an array's end: the store refuses it before it is committed
  }
}

test('in place and copy-on-write give the same document, key order included', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.array(key, { minLength: 1, maxLength: 3 }), value), { maxLength: 30 }), (steps) => {
      let copied: JsonObject = {};
      let inPlace: JsonObject = {};
      for (const [remove, segments, set] of steps) {
        const change: Change | undefined = remove ? { segments, deleted: true } : validChange(copied, segments, set);
        if (change === undefined) continue;
        try {
          copied = applyChanges(copied, [change]);
        } catch {
          continue;
        }
        const changed: object[] = [];
        inPlace = applyChangeInPlace(inPlace, structuredClone(change), (object) => changed.push(object));
        assert.equal(JSON.stringify(inPlace), JSON.stringify(copied));
        assert.ok(changed[0] === inPlace || segments.length === 0, 'the root is reported changed');
      }
    }),
    { numRuns: 300 },
  );
});
