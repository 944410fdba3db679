// Layer changes through the commit queue (sidecar/layers/): a change of the
// served view is one revision with the layer as its source, durable before it
// is answered; a change the user file hides makes no revision and answers at
// once, even while a client write's flush is pending, and is served once
// that write is committed; a change the schema refuses is rejected and the
// layers stay as they were.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { DEFAULT_LIMITS } from '../../protocol/index.js';
import { CommitQueue, type CommittedRevision, type Persist } from '../../sidecar/store/commit-queue.js';
import { ConfigSchema } from '../../sidecar/schema/config-schema.js';
import { layeredAdmission } from '../../sidecar/layers/layered-admission.js';
import { initialState, type LowerLayers, type StoreState } from '../../sidecar/store/store-state.js';

const layers = (fleet: Record<string, unknown>): LowerLayers => ({ fleet, system: {}, locks: [] });

function queueWith(persist: Persist, schema?: ConfigSchema) {
  const revisions: CommittedRevision[] = [];
  const start: StoreState = { ...initialState({ port: 1 }, 1), layers: layers({}), view: { port: 1 } };
  const queue = new CommitQueue(start, persist, DEFAULT_LIMITS, { onCommitted: (_state, made) => revisions.push(...made) }, layeredAdmission(schema));
  return { queue, revisions };
}

test('a layer change that moves the served view is one revision with its source; one the user file hides is none', async () => {
  const { queue, revisions } = queueWith(async () => undefined);
  const made = await queue.submitLayers(layers({ host: 'fleet' }), 'fleet');
  assert.equal(made.revision, 2);
  assert.deepEqual(queue.committed.view, { port: 1, host: 'fleet' });
  assert.deepEqual(queue.committed.doc, { port: 1 }, 'the file keeps only its own values');
  assert.deepEqual(revisions.map((r) => [r.revision, r.source, r.changes]), [[2, 'fleet', [{ segments: ['host'], value: 'fleet' }]]]);

  const hidden = await queue.submitLayers(layers({ host: 'fleet', port: 2 }), 'fleet');
  assert.equal(hidden.revision, 2, 'no revision: the user file sets port');
  assert.equal(revisions.length, 1);
  assert.deepEqual(queue.committed.layers?.fleet, { host: 'fleet', port: 2 });
});

test('a hidden layer change answers at once while a client write waits for its flush', async () => {
  let finish: (() => void) | undefined;
  const { queue } = queueWith(() => new Promise<void>((resolve) => (finish = resolve)));
  const write = queue.submit([{ op: 'set', path: 'other', value: 1 }]);
  const hidden = await queue.submitLayers(layers({ port: 5 }), 'fleet');
  assert.equal(hidden.revision, 1);
  await new Promise((resolve) => setImmediate(resolve));
  finish?.();
  assert.equal((await write).revision, 2);
});

test('a hidden layer change made while a client write waits is served once that write is committed, its flush queued or running', async () => {
  for (const when of ['queued', 'running'] as const) {
    const finishers: (() => void)[] = [];
    const { queue } = queueWith(() => new Promise<void>((resolve) => finishers.push(resolve)));
    const write = queue.submit([{ op: 'set', path: 'other', value: 1 }]);
    if (when === 'running') while (finishers.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // The user file sets port: the fleet's port changes nothing served.
    const hidden = await queue.submitLayers(layers({ port: 5 }), 'fleet');
    assert.equal(hidden.revision, 1, when);
    while (finishers.length === 0) await new Promise((resolve) => setImmediate(resolve));
    finishers.shift()!();
    assert.equal((await write).revision, 2, when);
    await queue.drain();
    assert.deepEqual(queue.committed.layers?.fleet, { port: 5 }, `${when}: the committed state kept the layers change`);
    assert.deepEqual(queue.committed.doc, { port: 1, other: 1 }, when);
  }
});

test('a layer change the schema refuses is rejected and the layers stay', async () => {
  const schema = ConfigSchema.of(z.object({ port: z.number(), host: z.string().optional() }).passthrough());
  const { queue, revisions } = queueWith(async () => undefined, schema);
  await assert.rejects(queue.submitLayers(layers({ host: 7 }), 'fleet'), /host/);
  assert.deepEqual(queue.committed.layers?.fleet, {});
  assert.equal(revisions.length, 0);
});
