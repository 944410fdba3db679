// The layer merge against a reference built another way: the user layer
// flattened to its leaves, the leaves a lock covers dropped, then every layer's
// leaves written in order onto an empty document. Seed from LAYER_SEED.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { getAt, isPlainObject } from '../../protocol/index.js';
import { layerOf, mergeLayers, type LayerDocs } from '../../sidecar/layers/layer-merge.js';
import { jsonValue } from '../fixtures/json-values.js';

type Doc = Record<string, unknown>;

/** Leaves of a document: non-objects and empty objects, with their paths. */
function leaves(value: unknown, at: string[] = []): [string[], unknown][] {
  if (!isPlainObject(value) || (Object.keys(value).length === 0 && at.length > 0)) return [[at, value]];
  return Object.entries(value).flatMap(([key, child]) => leaves(child, [...at, key]));
}

/** Writes a leaf: objects on the way are created; a non-object on the way is replaced by an object. */
function writeLeaf(doc: Doc, at: string[], value: unknown): void {
  let node = doc;
  for (const key of at.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Doc;
  }
  const last = at.at(-1)!;
  // An empty object leaf merges with what is there (it replaces nothing).
  if (isPlainObject(value) && Object.keys(value).length === 0 && isPlainObject(node[last])) return;
  node[last] = structuredClone(value);
}

/** A lock takes away a user leaf at or under it, and a non-object leaf above it (an empty object above hides nothing). */
const covers = (lock: string[], at: string[], value: unknown) =>
  lock.length <= at.length ? lock.every((key, i) => at[i] === key) : !isPlainObject(value) && at.every((key, i) => lock[i] === key);

function reference(docs: LayerDocs, locks: string[][]): Doc {
  const out: Doc = {};
  for (const layer of [docs.fleet, docs.system]) for (const [at, value] of leaves(layer)) writeLeaf(out, at, value);
  for (const [at, value] of leaves(docs.user)) if (!locks.some((lock) => covers(lock, at, value))) writeLeaf(out, at, value);
  return out;
}

const key = fc.constantFrom('a', 'b', 'c');
const doc = jsonValue({ key, maxDepth: 3, string: fc.constantFrom('x', 'y') }).map((value) => (isPlainObject(value) ? value : { a: value })) as fc.Arbitrary<Doc>;
const docs = fc.record({ fleet: doc, system: doc, user: doc });
const locks = fc.array(fc.array(key, { minLength: 1, maxLength: 3 }), { maxLength: 3 });
const seed = process.env.LAYER_SEED === undefined ? Date.now() : Number(process.env.LAYER_SEED);

test(`the merged document equals the reference merge (LAYER_SEED=${seed})`, () => {
  fc.assert(
    fc.property(docs, locks, (layers, locked) => {
      assert.deepEqual(mergeLayers(layers, locked).merged, reference(layers, locked));
    }),
    { seed, numRuns: 500 },
  );
});

test(`a locked path serves the layers below user, and layerOf names the layer the value came from (LAYER_SEED=${seed})`, () => {
  fc.assert(
    fc.property(docs, locks, (layers, locked) => {
      const { merged } = mergeLayers(layers, locked);
      const below = mergeLayers({ ...layers, user: {} }, []).merged;
      for (const lock of locked) assert.deepEqual(getAt(merged, lock), getAt(below, lock), `locked ${lock.join('.')}`);
      for (const [at, value] of leaves(merged)) {
        const layer = layerOf(layers, locked, at, merged);
        assert.ok(layer !== undefined && layer !== 'default');
        if (!isPlainObject(value)) assert.deepEqual(getAt(layer === 'user' ? layers.user : layers[layer], at), value, `${at.join('.')} from ${layer}`);
      }
    }),
    { seed, numRuns: 500 },
  );
});
