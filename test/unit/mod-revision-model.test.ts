// Model test of the store: random sequences of set/delete batches, some with
// ifModRevision, are applied both to applyOps and to a naive reference that
// computes modRevision by brute force (test/fixtures/reference-store.ts).
// After every step the documents, the per-op results, and the modRevision of
// every path must agree — and no earlier version may have changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, ProtocolError, type WriteOp } from '../../protocol/index.js';
import { modRevisionOf, type RevisionNode } from '../../sidecar/store/revision-tree.js';
import { applyOps, initialState, type StoreState } from '../../sidecar/store/store-state.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';
import { jsonObject, jsonValue } from '../fixtures/json-values.js';
import { ReferenceRejected, ReferenceStore, allPaths, type ReferenceOp } from '../fixtures/reference-store.js';

// A small alphabet so that random paths keep hitting existing keys and indexes.
const keys = fc.constantFrom('a', 'b', '0', '1');
const segment = fc.constantFrom('a', 'b', '0', '1', '2', '01');
const value = jsonValue({ key: keys, maxDepth: 3, maxLength: 3, string: fc.constantFrom('x', 'y') });

/** How an op's ifModRevision is chosen: none, the right one, or a guess (usually wrong). */
const precondition = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'current' as const }) },
  { weight: 1, arbitrary: fc.nat({ max: 12 }).map((n) => ({ kind: 'guess' as const, n })) },
);

const op = fc.record({
  op: fc.constantFrom('set', 'delete', 'set'),
  path: fc.array(segment, { maxLength: 4 }),
  value,
  precondition,
});

function treeSnapshot(node: RevisionNode): unknown {
  return [node.mod, node.base, [...(node.children ?? [])].map(([k, child]) => [k, treeSnapshot(child)])];
}

test('applyOps matches a brute-force reference model of documents and modRevisions', () => {
  fc.assert(
    fc.property(
      jsonObject({ key: keys, maxDepth: 3, maxLength: 3, string: fc.constantFrom('x', 'y') }),
      fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }),
      (start, steps) => {
        const reference = new ReferenceStore(structuredClone(start), 1);
        let state: StoreState = initialState(deepFreeze(start), 1);
        const history: { state: StoreState; doc: string; tree: string }[] = [];

        for (const step of steps) {
          // Preconditions are chosen against the reference as it stands before the batch.
          const ops: ReferenceOp[] = step.map((o) => {
            const p = o.precondition;
            const ifModRevision = p.kind === 'none' ? undefined : p.kind === 'current' ? reference.modRevisionOf(o.path) : p.n;
            const base = o.op === 'set' ? { op: 'set' as const, path: o.path, value: o.value } : { op: 'delete' as const, path: o.path };
            return ifModRevision === undefined ? base : { ...base, ifModRevision };
          });
          const wire: WriteOp[] = ops.map((o, i) => ({ ...o, path: i % 2 === 0 ? o.path : o.path.join('.') }));

          let expected: ReturnType<ReferenceStore['apply']> | { conflict: Record<string, unknown> } | 'rejected';
          try {
            expected = reference.apply(ops);
          } catch (error) {
            if (error instanceof ReferenceRejected) expected = 'rejected';
            else if (typeof error === 'object' && error !== null && 'conflict' in error) expected = error as { conflict: Record<string, unknown> };
            else throw error;
          }

          let actual: ReturnType<typeof applyOps> | ProtocolError;
          try {
            actual = applyOps(state, wire);
          } catch (error) {
            if (!(error instanceof ProtocolError)) throw error;
            actual = error;
          }

          if (expected === 'rejected') {
            assert.ok(actual instanceof ProtocolError && actual.code === ErrorCode.BAD_REQUEST, `expected BAD_REQUEST for ${JSON.stringify(ops)}`);
          } else if ('conflict' in expected) {
            assert.ok(actual instanceof ProtocolError && actual.code === ErrorCode.CONFLICT, `expected CONFLICT for ${JSON.stringify(ops)}`);
            assert.deepEqual(actual.details, expected.conflict);
          } else {
            assert.ok(!(actual instanceof ProtocolError), `unexpected ${actual instanceof ProtocolError ? actual.message : ''} for ${JSON.stringify(ops)}`);
            assert.deepEqual(actual.results, expected);
            if (!actual.unchanged) state = actual.state; // the commit queue makes no revision of a write that changes nothing
            deepFreeze(state.doc);
          }

          assert.equal(state.revision, reference.revision);
          assert.deepEqual(state.doc, reference.doc);
          for (const path of allPaths(reference.doc)) {
            assert.equal(
              modRevisionOf(state.tree, state.doc, path),
              reference.modRevisionOf(path),
              `modRevision of "${path.join('.')}" after ${JSON.stringify(ops)} in ${JSON.stringify(reference.doc)}`,
            );
          }
          for (const o of ops) {
            if (reference.modRevisionOf(o.path) === 0) assert.equal(modRevisionOf(state.tree, state.doc, o.path), 0);
          }
          history.push({ state, doc: JSON.stringify(state.doc), tree: JSON.stringify(treeSnapshot(state.tree)) });
        }

        // Copy-on-write: every version seen along the way is exactly as it was.
        for (const seen of history) {
          assert.equal(JSON.stringify(seen.state.doc), seen.doc);
          assert.equal(JSON.stringify(treeSnapshot(seen.state.tree)), seen.tree);
        }
      },
    ),
    { numRuns: 600 },
  );
});
