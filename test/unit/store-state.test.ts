// applyOps: one batch is one revision; modRevision follows docs/protocol.md §12; an
// ifModRevision precondition that fails answers CONFLICT and applies nothing,
// and in a batch every precondition is checked before anything is applied.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, ProtocolError, type WriteOp } from '../../protocol/index.js';
import type { RevisionNode } from '../../sidecar/store/revision-tree.js';
import { applyOps, initialState, readPath, type StoreState } from '../../sidecar/store/store-state.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';

/** Applies and returns the new state, freezing it so later steps prove they never write to it. */
function apply(state: StoreState, ...ops: WriteOp[]): StoreState {
  const next = applyOps(state, ops).state;
  deepFreeze(next.doc);
  return next;
}

const mod = (state: StoreState, path: string): number => readPath(state, path === '' ? [] : path.split('.')).modRevision;

function treeSnapshot(node: RevisionNode): unknown {
  return { mod: node.mod, base: node.base, children: [...(node.children ?? [])].map(([k, child]) => [k, treeSnapshot(child)]) };
}

function conflict(fn: () => unknown): ProtocolError {
  let caught: ProtocolError | undefined;
  assert.throws(fn, (error: unknown) => {
    caught = error as ProtocolError;
    return error instanceof ProtocolError && error.code === ErrorCode.CONFLICT;
  });
  return caught!;
}

describe('applyOps', () => {
  test('a loaded document dates wholly from its first revision', () => {
    const state = initialState(deepFreeze({ a: { b: [1, { c: 2 }] } }), 1);
    for (const path of ['', 'a', 'a.b', 'a.b.0', 'a.b.1.c']) assert.equal(mod(state, path), 1, path);
    assert.equal(mod(state, 'missing'), 0);
    assert.equal(mod(state, 'a.b.2'), 0);
  });

  test('each call is one new revision; results give each op its modRevision and whether it existed', () => {
    const s1 = initialState(deepFreeze({ a: 1 }), 1);
    const { state, results } = applyOps(s1, [
      { op: 'set', path: 'a', value: 2 },
      { op: 'set', path: 'b', value: 3 },
      { op: 'delete', path: 'missing' },
      { op: 'delete', path: 'a' },
    ]);
    assert.equal(state.revision, 2);
    assert.deepEqual(results, [
      { modRevision: 2, existed: true },
      { modRevision: 2, existed: false },
      { modRevision: 0, existed: false },
      { modRevision: 2, existed: true },
    ]);
    assert.deepEqual(state.doc, { b: 3 });
  });

  test('a write that changes nothing is flagged unchanged (the queue makes no revision of it): a delete of nothing, an equal value', () => {
    const s1 = initialState(deepFreeze({ a: 1, b: { c: [1, { d: 2 }] } }), 1);
    assert.equal(applyOps(s1, [{ op: 'delete', path: 'nope' }]).unchanged, true);
    const equal = applyOps(s1, [{ op: 'set', path: 'b', value: { c: [1, { d: 2 }] } }]);
    assert.equal(equal.unchanged, true);
    assert.equal(equal.state.doc, s1.doc, 'the same document');
    assert.equal(mod(equal.state, 'b.c'), 1, 'no modRevision moves');
    assert.equal(applyOps(s1, [{ op: 'set', path: 'a', value: 2 }]).unchanged, false);
    const { results } = applyOps(s1, [{ op: 'set', path: 'a', value: 1 }]);
    assert.deepEqual(results, [{ modRevision: 1, existed: true }], 'answered with the modRevision it has');
  });

  test('set of a deep path: the path and all its ancestors take the new revision, siblings keep theirs', () => {
    const s1 = initialState(deepFreeze({ a: { x: 1 }, other: 1 }), 1);
    const s2 = apply(s1, { op: 'set', path: 'a.b.c', value: 1 });
    for (const path of ['', 'a', 'a.b', 'a.b.c']) assert.equal(mod(s2, path), 2, path);
    assert.equal(mod(s2, 'a.x'), 1);
    assert.equal(mod(s2, 'other'), 1);
  });

  test('replacing an ancestor gives every path below it the new revision', () => {
    const s1 = initialState(deepFreeze({ a: { b: { c: 1 } } }), 1);
    const s2 = apply(s1, { op: 'set', path: 'a', value: { b: { c: 1 }, e: 1 } });
    for (const path of ['', 'a', 'a.b', 'a.b.c', 'a.e']) assert.equal(mod(s2, path), 2, path);
  });

  test('delete: the ancestors of what was removed change, its siblings do not', () => {
    const s1 = initialState(deepFreeze({ a: { b: 1, c: 2 } }), 1);
    const s2 = apply(s1, { op: 'delete', path: 'a.b' });
    assert.equal(mod(s2, ''), 2);
    assert.equal(mod(s2, 'a'), 2);
    assert.equal(mod(s2, 'a.c'), 1);
    assert.equal(mod(s2, 'a.b'), 0);
  });

  test('a deleted path recreated later reports the new revision, not a stale one', () => {
    let state = initialState(deepFreeze({ a: { b: { c: 1 } } }), 1);
    state = apply(state, { op: 'set', path: 'a.b.c', value: 2 }); // 2
    state = apply(state, { op: 'delete', path: 'a.b' }); // 3
    state = apply(state, { op: 'set', path: 'z', value: 0 }); // 4
    state = apply(state, { op: 'set', path: 'a.b.d', value: 1 }); // 5
    assert.equal(mod(state, 'a.b'), 5);
    assert.equal(mod(state, 'a.b.d'), 5);
    assert.equal(mod(state, 'a.b.c'), 0);
  });

  test('deleting the root empties the document at the new revision', () => {
    const s2 = apply(initialState(deepFreeze({ a: { b: 1 } }), 1), { op: 'delete', path: '' });
    assert.deepEqual(s2.doc, {});
    assert.equal(mod(s2, ''), 2);
    assert.equal(mod(s2, 'a'), 0);
  });

  test('arrays are versioned as a whole: any element set or delete gives every element the new revision', () => {
    // The implementation's documented choice (store-state.ts); stricter than "changed", never looser.
    const s1 = initialState(deepFreeze({ l: ['a', 'b', 'c'], o: { k: 1 } }), 1);
    const s2 = apply(s1, { op: 'set', path: 'l.1', value: 'B' });
    for (const path of ['l', 'l.0', 'l.1', 'l.2']) assert.equal(mod(s2, path), 2, path);
    assert.equal(mod(s2, 'o'), 1);
    const s3 = apply(s2, { op: 'delete', path: 'l.0' });
    for (const path of ['l', 'l.0', 'l.1']) assert.equal(mod(s3, path), 3, path);
  });

  test('an edit inside an object inside an array changes that element and the array, not the other elements', () => {
    const s1 = initialState(deepFreeze({ l: [{ k: 1 }, { k: 2 }] }), 1);
    const s2 = apply(s1, { op: 'set', path: 'l.0.k', value: 9 });
    assert.equal(mod(s2, 'l'), 2);
    assert.equal(mod(s2, 'l.0'), 2);
    assert.equal(mod(s2, 'l.0.k'), 2);
    assert.equal(mod(s2, 'l.1'), 1);
    assert.equal(mod(s2, 'l.1.k'), 1);
  });

  test('a failing op anywhere in a batch applies nothing', () => {
    const s1 = initialState(deepFreeze({ s: 'scalar' }), 1);
    assert.throws(
      () => applyOps(s1, [{ op: 'set', path: 'ok', value: 1 }, { op: 'set', path: 's.x', value: 1 }]),
      (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_REQUEST,
    );
    assert.deepEqual(s1.doc, { s: 'scalar' });
    assert.equal(s1.revision, 1);
  });

  test('a forbidden path segment is BAD_REQUEST before anything else', () => {
    const s1 = initialState(deepFreeze({}), 1);
    assert.throws(
      () => applyOps(s1, [{ op: 'set', path: 'a', value: 1, ifModRevision: 5 }, { op: 'set', path: 'x.__proto__', value: 1 }]),
      (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_REQUEST,
    );
  });

  test('the old state is never modified: document frozen, revision tree unchanged', () => {
    const s1 = initialState(deepFreeze({ a: { b: [1, 2] }, c: 1 }), 1);
    const s2 = apply(s1, { op: 'set', path: 'a.b.0', value: 5 });
    const tree2 = JSON.stringify(treeSnapshot(s2.tree));
    const doc2 = JSON.stringify(s2.doc);
    apply(s2, { op: 'delete', path: 'a.b.1' }, { op: 'set', path: 'c', value: { d: 1 } }, { op: 'delete', path: '' }, { op: 'set', path: 'n', value: 1 });
    assert.equal(JSON.stringify(treeSnapshot(s2.tree)), tree2);
    assert.equal(JSON.stringify(s2.doc), doc2);
    assert.equal(mod(s2, 'a.b.1'), 2);
  });
});

describe('ifModRevision', () => {
  const s1 = initialState(deepFreeze({ a: 1, n: null }), 1);

  test('0 means "must not exist": it passes for a missing path', () => {
    const s2 = apply(s1, { op: 'set', path: 'b', value: 1, ifModRevision: 0 });
    assert.deepEqual(s2.doc, { a: 1, n: null, b: 1 });
  });

  test('0 fails with CONFLICT when the path exists, even holding null', () => {
    const error = conflict(() => applyOps(s1, [{ op: 'set', path: 'n', value: 1, ifModRevision: 0 }]));
    assert.deepEqual(error.details, { path: 'n', expected: 0, modRevision: 1 });
    assert.match(error.message, /n has modRevision 1, not 0; nothing was applied/);
  });

  test('the current modRevision passes; anything else is CONFLICT with the current one in details', () => {
    assert.deepEqual(apply(s1, { op: 'set', path: 'a', value: 2, ifModRevision: 1 }).doc.a, 2);
    const error = conflict(() => applyOps(s1, [{ op: 'set', path: 'a', value: 2, ifModRevision: 7 }]));
    assert.deepEqual(error.details, { path: 'a', expected: 7, modRevision: 1 });
  });

  test('a non-zero ifModRevision on a missing path is CONFLICT with modRevision 0', () => {
    const error = conflict(() => applyOps(s1, [{ op: 'delete', path: 'gone', ifModRevision: 1 }]));
    assert.deepEqual(error.details, { path: 'gone', expected: 1, modRevision: 0 });
  });

  test('delete with ifModRevision 0 on a missing path passes (and deletes nothing)', () => {
    const { results } = applyOps(s1, [{ op: 'delete', path: 'gone', ifModRevision: 0 }]);
    assert.deepEqual(results, [{ modRevision: 0, existed: false }]);
  });

  test('the root path has a modRevision too', () => {
    conflict(() => applyOps(s1, [{ op: 'set', path: '', value: {}, ifModRevision: 0 }]));
    assert.deepEqual(apply(s1, { op: 'set', path: [], value: { fresh: true }, ifModRevision: 1 }).doc, { fresh: true });
  });

  test('on CONFLICT nothing is applied and the old state is untouched', () => {
    const before = JSON.stringify(treeSnapshot(s1.tree));
    conflict(() => applyOps(s1, [{ op: 'set', path: 'a', value: 2 }, { op: 'set', path: 'b', value: 1, ifModRevision: 3 }]));
    assert.deepEqual(s1.doc, { a: 1, n: null });
    assert.equal(s1.revision, 1);
    assert.equal(JSON.stringify(treeSnapshot(s1.tree)), before);
  });

  test('in a batch every precondition is checked against the state before the batch, before anything is applied', () => {
    // The second op would fail if the first were applied first ("b" would exist);
    // judged against the state before the batch, both hold.
    const { state } = applyOps(s1, [
      { op: 'set', path: 'b', value: 1, ifModRevision: 0 },
      { op: 'set', path: 'b', value: 2, ifModRevision: 0 },
    ]);
    assert.equal(state.doc.b, 2);
  });

  test('in a batch a failed precondition after a refused edit reports CONFLICT: preconditions come first', () => {
    const s = initialState(deepFreeze({ s: 'scalar', a: 1 }), 1);
    conflict(() => applyOps(s, [{ op: 'set', path: 's.x', value: 1 }, { op: 'set', path: 'a', value: 2, ifModRevision: 9 }]));
  });

  test('the first failing precondition in op order is the one reported', () => {
    const error = conflict(() =>
      applyOps(s1, [
        { op: 'set', path: 'a', value: 2, ifModRevision: 1 },
        { op: 'set', path: 'n', value: 2, ifModRevision: 5 },
        { op: 'set', path: 'a', value: 3, ifModRevision: 6 },
      ]),
    );
    assert.deepEqual(error.details, { path: 'n', expected: 5, modRevision: 1 });
  });

  test('a read-modify-write loop on the modRevision never loses an update', () => {
    // Two writers read the same modRevision; only the first write lands, the second must re-read.
    let state = initialState(deepFreeze({ counter: 0 }), 1);
    const seen = mod(state, 'counter');
    state = apply(state, { op: 'set', path: 'counter', value: 1, ifModRevision: seen });
    conflict(() => applyOps(state, [{ op: 'set', path: 'counter', value: 1, ifModRevision: seen }]));
    state = apply(state, { op: 'set', path: 'counter', value: 2, ifModRevision: mod(state, 'counter') });
    assert.equal(state.doc.counter, 2);
  });
});
