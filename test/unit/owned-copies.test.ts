// Writes that change the working copy's own objects in place (document.ts,
// OwnedCopies) must give exactly what copy-on-write gives: the same document,
// the same text and size, and every document or change value handed out
// before (a flush's snapshot, a revision's changes) left as it was. A refused
// write leaves nothing behind. Checked against a copy-on-write model over
// random writes, releases and refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OwnedCopies, type JsonObject } from '../../sidecar/store/document.js';
import { documentText } from '../../sidecar/store/json-text.js';
import { applyOps, initialState, type StoreState } from '../../sidecar/store/store-state.js';
import { countsHold, randomOps } from '../helpers/random-writes.js';
import { seededRandom } from '../helpers/seeded-random.js';

test('property: in place or copied, writes give the same document, text and size, and never change what was handed out', () => {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const random = seededRandom(seed);
  const owned = new OwnedCopies();
  let inPlace: StoreState = initialState({}, 1);
  let copied: StoreState = initialState({}, 1);
  let bytes = documentText(inPlace.doc).bytes;
  /** Documents and change values handed out, with a copy of what they held then. */
  const handedOut: { value: unknown; then: string }[] = [];
  const handOut = (value: unknown) => handedOut.push({ value, then: JSON.stringify(value) });
  for (let step = 0; step < 3000; step++) {
    const label = `seed ${seed}, step ${step}`;
    const ops = randomOps(random);
    let expected: ReturnType<typeof applyOps> | undefined;
    let failure: unknown;
    try {
      expected = applyOps(copied, ops);
    } catch (error) {
      failure = error;
    }
    if (failure !== undefined) {
      assert.throws(() => applyOps(inPlace, ops, [], owned), label);
    } else {
      const got = applyOps(inPlace, ops, [], owned);
      assert.deepEqual(got.changes, expected!.changes, label);
      if (random() < 0.2) {
        // Refused after it was applied (a size or growth limit): nothing of it stays.
        owned.rollback();
      } else {
        owned.settle();
        inPlace = got.state;
        copied = expected!.state;
        bytes += got.bytes;
        for (const change of got.changes) handOut(change.value);
      }
    }
    assert.deepEqual(inPlace.doc, copied.doc, label);
    const text = documentText(inPlace.doc);
    assert.equal(text.text, JSON.stringify(copied.doc, null, 2) + '\n', label);
    assert.equal(bytes, text.bytes, `${label}: the size kept per write`);
    countsHold(inPlace.doc);
    if (random() < 0.1) {
      // A flush takes the working copy.
      owned.release();
      handOut(inPlace.doc);
    }
    for (const { value, then } of handedOut) assert.equal(JSON.stringify(value), then, `${label}: a value handed out changed`);
  }
});

test('a run of writes into one object copies it once, until the working copy is taken', () => {
  const owned = new OwnedCopies();
  const big: JsonObject = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
  let state = initialState({ big }, 1);
  state = applyOps(state, [{ op: 'set', path: 'big.new0', value: 0 }], [], owned).state;
  const copy = state.doc.big;
  assert.notEqual(copy, big, 'the first write copies');
  for (let i = 1; i < 10; i++) state = applyOps(state, [{ op: 'set', path: `big.new${i}`, value: i }], [], owned).state;
  assert.equal(state.doc.big, copy, 'later writes change the copy in place');
  assert.equal(Object.keys(big).length, 1000, 'the original is untouched');
  owned.release();
  const taken = state.doc;
  state = applyOps(state, [{ op: 'set', path: 'big.after', value: 1 }], [], owned).state;
  assert.notEqual(state.doc.big, copy, 'after a release the next write copies again');
  assert.equal((taken.big as JsonObject).after, undefined);
});
