// The client's copy of a watched value: applyChange folds one change into it,
// diffViews finds the changes between two copies (what a resync emits).
// The property that matters: applying diffViews(a, b) to a gives b, for any
// JSON values at any watched path — otherwise a resync would leave the
// watcher's copy wrong without anyone noticing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ABSENT, applyChange, diffViews, type View, type ViewChange } from '../../client/watch-view.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';
import { anyKey, jsonValue } from '../fixtures/json-values.js';

const value = (v: unknown): View => ({ exists: true, value: v });
const fold = (view: View, at: readonly string[], changes: readonly ViewChange[]): View => changes.reduce((v, c) => applyChange(v, at, c), view);

describe('applyChange', () => {
  test('a change at the watched path replaces the value or removes it', () => {
    assert.deepEqual(applyChange(value({ a: 1 }), ['s'], { path: ['s'], value: 5 }), value(5));
    assert.deepEqual(applyChange(ABSENT, ['s'], { path: ['s'], value: null }), value(null));
    assert.deepEqual(applyChange(value(1), ['s'], { path: ['s'], deleted: true }), ABSENT);
    assert.deepEqual(applyChange(value({}), [], { path: [], value: { a: 1 } }), value({ a: 1 }), 'the root watcher');
  });

  test('a change below the path edits a copy, creating missing objects on the way like set does', () => {
    const before = deepFreeze({ port: 1, tls: { on: true } });
    assert.deepEqual(applyChange(value(before), ['s'], { path: ['s', 'tls', 'cert'], value: 'c' }), value({ port: 1, tls: { on: true, cert: 'c' } }));
    assert.deepEqual(applyChange(value(before), ['s'], { path: ['s', 'a', 'b'], value: 1 }), value({ port: 1, tls: { on: true }, a: { b: 1 } }));
    assert.deepEqual(applyChange(ABSENT, ['s'], { path: ['s', 'a', 'b'], value: 1 }), value({ a: { b: 1 } }), 'an absent value becomes an object');
    assert.deepEqual(applyChange(value(before), ['s'], { path: ['s', 'tls'], deleted: true }), value({ port: 1 }));
    assert.deepEqual(before, { port: 1, tls: { on: true } }, 'the old copy is untouched');
  });

  test('inside arrays: canonical indexes address elements; a removal shifts the rest', () => {
    const before = deepFreeze({ dirs: ['a', { n: 1 }, 'c'] });
    assert.deepEqual(applyChange(value(before), [], { path: ['dirs', '1', 'n'], value: 2 }), value({ dirs: ['a', { n: 2 }, 'c'] }));
    assert.deepEqual(applyChange(value(before), [], { path: ['dirs', '3'], value: 'd' }), value({ dirs: ['a', { n: 1 }, 'c', 'd'] }));
    assert.deepEqual(applyChange(value(before), [], { path: ['dirs', '0'], deleted: true }), value({ dirs: [{ n: 1 }, 'c'] }));
    assert.deepEqual(applyChange(value(before), [], { path: ['dirs', '7'], deleted: true }), value(before), 'removing what is not there changes nothing');
  });

  test('removing below an absent or scalar value changes nothing below it', () => {
    assert.deepEqual(applyChange(value(5), ['s'], { path: ['s', 'x'], deleted: true }), value(5));
    assert.deepEqual(applyChange(value({ a: 1 }), ['s'], { path: ['s', 'b', 'c'], deleted: true }), value({ a: 1 }));
  });
});

describe('diffViews', () => {
  test('the smallest paths that differ: removed keys, then changed or added ones, objects key by key', () => {
    const before = value({ port: 1, tls: { on: true, cert: 'a' }, old: 1 });
    const after = value({ port: 1, tls: { on: false, cert: 'a' }, added: [1] });
    assert.deepEqual(diffViews(before, after, ['s']), [
      { path: ['s', 'old'], deleted: true },
      { path: ['s', 'tls', 'on'], value: false },
      { path: ['s', 'added'], value: [1] },
    ]);
  });

  test('arrays and scalars are replaced whole; equal values give no change', () => {
    assert.deepEqual(diffViews(value([1, 2]), value([1, 3]), ['a']), [{ path: ['a'], value: [1, 3] }]);
    assert.deepEqual(diffViews(value({ x: 1 }), value([1]), ['a']), [{ path: ['a'], value: [1] }]);
    assert.deepEqual(diffViews(value({ x: [1, { y: 2 }] }), value({ x: [1, { y: 2 }] }), ['a']), []);
    assert.deepEqual(diffViews(ABSENT, ABSENT, ['a']), []);
  });

  test('appearance and removal of the watched value itself', () => {
    assert.deepEqual(diffViews(ABSENT, value({ a: 1 }), ['s']), [{ path: ['s'], value: { a: 1 } }]);
    assert.deepEqual(diffViews(value({ a: 1 }), ABSENT, ['s']), [{ path: ['s'], deleted: true }]);
    assert.deepEqual(diffViews(value(null), value(0), ['s']), [{ path: ['s'], value: 0 }], 'null and 0 differ');
  });

  test('property: applying diffViews(a, b) to a yields b, for any JSON values at any watched path', () => {
    const view = fc.oneof({ weight: 1, arbitrary: fc.constant(ABSENT) }, { weight: 5, arbitrary: jsonValue({ maxDepth: 4 }).map(value) });
    // Pairs that share structure, so the diff goes deep rather than replacing at the top.
    const similar = jsonValue({ key: fc.constantFrom('a', 'b', 'c', ''), maxDepth: 4, string: fc.constantFrom('x', 'y') }).map(value);
    const pair = fc.oneof(fc.tuple(view, view), fc.tuple(similar, similar));
    fc.assert(
      fc.property(pair, fc.array(anyKey, { maxLength: 3 }), ([a, b], at) => {
        deepFreeze(a);
        deepFreeze(b);
        const changes = diffViews(a, b, at);
        assert.deepEqual(fold(a, at, changes), b);
        for (const change of changes) assert.deepEqual(change.path.slice(0, at.length), at, 'every change lies under the watched path');
        assert.deepEqual(diffViews(a, a, at), [], 'no change between equal values');
        if (changes.length === 0) assert.deepEqual(a, b);
      }),
      { numRuns: 500 },
    );
  });

  test('property: diffViews paths name each place once (no change hides below another one of the same diff)', () => {
    fc.assert(
      fc.property(jsonValue({ key: fc.constantFrom('a', 'b'), maxDepth: 4 }), jsonValue({ key: fc.constantFrom('a', 'b'), maxDepth: 4 }), (a, b) => {
        const paths = diffViews(value(a), value(b), []).map((c) => c.path);
        for (const p of paths) {
          for (const q of paths) {
            if (p !== q) assert.ok(!(p.length <= q.length && p.every((s, i) => q[i] === s)), `${JSON.stringify(p)} is above ${JSON.stringify(q)}`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
