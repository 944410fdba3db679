// The merge of a hand edit (sidecar/file/three-way-merge.ts), as a property: from
// random client writes and a random edit of a random earlier version, nothing
// a client wrote is lost, and everything the edit changed is applied unless a
// client changed the same path, in which case it is reported as a conflict.
// MERGE_SEED replays a run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { deepEqual, diffValues, formatPath, isPrefix } from '../../protocol/index.js';
import { deleteIn, setIn, type JsonObject } from '../../sidecar/store/document.js';
import { mergeEdit, presenceAt } from '../../sidecar/file/three-way-merge.js';
import { WrittenVersions } from '../../sidecar/file/written-versions.js';
import { jsonObject, jsonValue } from '../fixtures/json-values.js';

const key = fc.constantFrom('a', 'b', 'c', 'd');
const value = jsonValue({ key, maxDepth: 2 });
const op = fc.record({ kind: fc.constantFrom('set', 'set', 'delete'), path: fc.array(key, { minLength: 1, maxLength: 3 }), value });
type Op = { kind: string; path: string[]; value: unknown };

/** Applies what applies (a set under a non-object parent is skipped, as a client's would be refused). */
function apply(doc: JsonObject, ops: readonly Op[]): JsonObject {
  let out = doc;
  for (const { kind, path, value } of ops) {
    try {
      out = kind === 'delete' ? deleteIn(out, path).root : setIn(out, path, value);
    } catch {
      // A path through a scalar: refused, like the client write it stands for; the next op is tried.
      continue;
    }
  }
  return out;
}

const scenario = fc.record({
  start: jsonObject({ key, maxDepth: 3 }),
  writes: fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 6 }),
  baseAt: fc.nat(),
  edit: fc.array(op, { maxLength: 4 }),
});

function versionsOf(start: JsonObject, writes: Op[][]): JsonObject[] {
  const versions = [start];
  for (const batch of writes) versions.push(apply(versions.at(-1)!, batch));
  return versions;
}

test('merge property: client writes are kept; edited paths are applied or reported as conflicts', (t) => {
  const seed = Number(process.env.MERGE_SEED ?? Date.now() % 2 ** 31);
  t.diagnostic(`seed ${seed} (MERGE_SEED replays it)`);
  fc.assert(
    fc.property(scenario, ({ start, writes, baseAt, edit }) => {
      const versions = versionsOf(start, writes);
      const base = versions[baseAt % versions.length]!;
      const ours = versions.at(-1)!;
      const theirs = apply(base, edit);
      const { ops, conflicts } = mergeEdit(base, ours, theirs);
      const result = apply(ours, ops.map((o) => ({ kind: o.op, path: o.path as string[], value: o.op === 'set' ? o.value : undefined })));
      const clientPaths = diffValues({ exists: true, value: base }, { exists: true, value: ours }).map((c) => c.path);
      for (const path of clientPaths) {
        assert.deepEqual(presenceAt(result, path), presenceAt(ours, path), `client write at ${formatPath(path)} kept`);
      }
      for (const change of diffValues({ exists: true, value: base }, { exists: true, value: theirs })) {
        const conflict = conflicts.find((c) => deepEqual(c.path, change.path));
        if (conflict === undefined) {
          assert.deepEqual(presenceAt(result, change.path), presenceAt(theirs, change.path), `edit at ${formatPath(change.path)} applied`);
          continue;
        }
        assert.deepEqual(conflict.edit, presenceAt(theirs, change.path), 'the conflict reports the edit value');
        // A conflict only where a client changed the same path, one inside it, or one above it.
        assert.ok(clientPaths.some((p) => isPrefix(p, change.path) || isPrefix(change.path, p)), `conflict at ${formatPath(change.path)} has a client change`);
      }
    }),
    { seed, numRuns: 500 },
  );
});

test('merge property with the base found among the kept versions: no client write is ever lost', (t) => {
  const seed = Number(process.env.MERGE_SEED ?? Date.now() % 2 ** 31);
  t.diagnostic(`seed ${seed} (MERGE_SEED replays it)`);
  fc.assert(
    fc.property(scenario, ({ start, writes, baseAt, edit }) => {
      const versions = versionsOf(start, writes);
      const kept = new WrittenVersions();
      for (const version of versions) kept.add(version, JSON.stringify(version).length);
      const theirs = apply(versions[baseAt % versions.length]!, edit);
      const ours = versions.at(-1)!;
      const base = kept.baseFor(theirs)!;
      const { ops } = mergeEdit(base, ours, theirs);
      const result = apply(ours, ops.map((o) => ({ kind: o.op, path: o.path as string[], value: o.op === 'set' ? o.value : undefined })));
      for (const change of diffValues({ exists: true, value: base }, { exists: true, value: ours })) {
        assert.deepEqual(presenceAt(result, change.path), presenceAt(ours, change.path));
      }
    }),
    { seed, numRuns: 300 },
  );
});

test('the stale-copy example merges to {a:1, b:2, c:3}; the kept version nearest the edit is its base', () => {
  const v1 = { a: 1 };
  const v2 = { a: 1, b: 2 };
  const kept = new WrittenVersions();
  kept.add(v1, 7);
  kept.add(v2, 13);
  const edit = { a: 1, c: 3 };
  const base = kept.baseFor(edit)!;
  assert.equal(base, v1);
  const { ops, conflicts } = mergeEdit(base, v2, edit);
  assert.deepEqual(ops, [{ op: 'set', path: ['c'], value: 3 }]);
  assert.deepEqual(conflicts, []);
});

test('kept versions are bounded in count and bytes, the newest always kept', () => {
  const kept = new WrittenVersions(undefined, { count: 3, bytes: 100 });
  for (let i = 0; i < 10; i++) kept.add({ i }, 10);
  assert.equal(kept.size, 3);
  kept.add({ big: true }, 1000);
  assert.equal(kept.size, 1);
});

test('a version kept as the text the sidecar wrote is read back only when an edit comes', () => {
  const texts: string[] = [];
  const kept = new WrittenVersions((text) => {
    texts.push(text.toString());
    return JSON.parse(text.toString()) as Record<string, unknown>;
  });
  kept.add(Buffer.from('{"a":1}'), 7);
  kept.add(Buffer.from('{"a":1}'), 7); // the same text again (a rewrite retried): one version
  kept.add(Buffer.from('{"a":1,"b":2}'), 13);
  assert.equal(kept.size, 2);
  assert.deepEqual(texts, [], 'nothing is read before an edit comes');
  assert.deepEqual(kept.baseFor({ a: 1, c: 3 }), { a: 1 });
  assert.deepEqual(kept.baseFor({ a: 1, b: 2, c: 3 }), { a: 1, b: 2 });
});

test('ties: the newest version unless a client write lies between it and an older tied one', () => {
  const v1 = { port: 80, host: 'a' };
  const v2 = { port: 81, host: 'a' };
  const edit = { port: 82, host: 'b' };
  const afterHand = new WrittenVersions();
  afterHand.add(v1, 10, true);
  afterHand.add(v2, 10, false); // a hand edit's result: the next edit builds on it
  assert.equal(afterHand.baseFor(edit), v2);
  const afterClient = new WrittenVersions();
  afterClient.add(v1, 10, true);
  afterClient.add(v2, 10, true); // a client's write: the edit may not have seen it
  assert.equal(afterClient.baseFor(edit), v1);
  assert.deepEqual(mergeEdit(v1, v2, edit).conflicts.map((c) => c.path), [['port']]);
});
