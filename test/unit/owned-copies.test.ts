// Writes that change the working copy's own objects in place (document.ts,
// OwnedCopies) must give exactly what copy-on-write gives: the same document,
// the same text and size, and every document or change value handed out
// before (a flush's snapshot, a revision's changes) left as it was. A refused
// write leaves nothing behind. Checked against a copy-on-write model over
// random writes, releases and refusals.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WriteOp } from '../../protocol/index.js';
import { entryCount } from '../../sidecar/store/container-size.js';
import { OwnedCopies, type JsonObject } from '../../sidecar/store/document.js';
import { documentText } from '../../sidecar/store/json-text.js';
import { applyOps, initialState, type StoreState } from '../../sidecar/store/store-state.js';
import { seededRandom } from '../helpers/seeded-random.js';

const PATHS = ['a', 'a.x', 'a.y', 'a.x.deep', 'b', 'big.k1', 'big.k2', 'big.k3', 'big.k4', 'big.k5', 'arr', 'arr.0', 'arr.1', 'arr.0.z', 'c.d.e'];

function randomValue(random: () => number): unknown {
  const pick = Math.floor(random() * 6);
  if (pick === 0) return Math.floor(random() * 100);
  if (pick === 1) return `s${Math.floor(random() * 10)}`;
  if (pick === 2) return { n: Math.floor(random() * 3) };
  if (pick === 3) return [1, { z: 2 }];
  if (pick === 4) return null;
  return {};
}

function randomOps(random: () => number): WriteOp[] {
  return Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
    const path = PATHS[Math.floor(random() * PATHS.length)]!;
    return random() < 0.8 ? { op: 'set', path, value: randomValue(random) } : { op: 'delete', path };
  });
}

/** Every object's cached key count matches its keys. */
function countsHold(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (!Array.isArray(value)) assert.equal(entryCount(value), Object.keys(value).length);
  for (const child of Object.values(value)) countsHold(child);
}

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
