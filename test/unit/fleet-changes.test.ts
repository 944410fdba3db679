// From what etcd reported to the changes delivered: one per revision (even one
// that changes no value), never one for a revision already applied, a re-read
// as one change only when the document differs, progress marks never saved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySteps, EMPTY_VIEW, type FleetStep } from '../../sidecar/fleet/fleet-changes.js';

const read = (revision: number, entries: Record<string, string>, clusterId = 'c1'): FleetStep => ({ kind: 'read', revision, clusterId, entries: new Map(Object.entries(entries)) });
const put = (revision: number, key: string, value: string | undefined): FleetStep => ({ kind: 'revision', revision, ops: [{ key, value }] });

test('the first read is delivered even when empty; each revision after it is one change', () => {
  const { view, changes, durable } = applySteps(EMPTY_VIEW, [read(5, {}), put(6, 'a', '1'), put(7, 'a', '1'), put(8, 'a', undefined)]);
  assert.equal(durable, true);
  assert.deepEqual(
    changes.map((c) => [c.kind, c.revision, c.changed]),
    [
      ['initial', 5, []],
      ['watch', 6, [['a']]],
      ['watch', 7, []],
      ['watch', 8, [['a']]],
    ],
  );
  assert.equal(view.revision, 8);
  assert.deepEqual(view.built.document, {});
});

test('a revision at or below the applied one is not delivered again', () => {
  const first = applySteps(EMPTY_VIEW, [read(5, {}), put(6, 'a', '1')]).view;
  const { changes, view } = applySteps(first, [put(6, 'a', '2'), put(5, 'a', '3'), put(7, 'b', '2')]);
  assert.deepEqual(changes.map((c) => c.revision), [7]);
  assert.deepEqual(view.built.document, { a: 1, b: 2 });
});

test('a re-read is one change with the difference, and none when nothing differs', () => {
  const first = applySteps(EMPTY_VIEW, [read(5, { a: '1', b: '2' })]).view;
  const same = applySteps(first, [read(9, { b: '2', a: '1' })]);
  assert.deepEqual(same.changes, []);
  assert.equal(same.durable, true, 'the newer revision is still saved');
  assert.equal(same.view.revision, 9);
  const differs = applySteps(first, [read(9, { a: '10', c: '3' })]);
  assert.deepEqual(differs.changes.map((c) => [c.kind, c.revision, c.changed]), [['resync', 9, [['b'], ['a'], ['c']]]]);
});

test('progress moves the revision forward only, and alone needs no save', () => {
  const first = applySteps(EMPTY_VIEW, [read(5, { a: '1' })]).view;
  const ahead = applySteps(first, [{ kind: 'progress', revision: 12 }]);
  assert.deepEqual([ahead.view.revision, ahead.durable, ahead.changes.length], [12, false, 0]);
  const behind = applySteps(ahead.view, [{ kind: 'progress', revision: 7 }]);
  assert.equal(behind.view.revision, 12);
});
