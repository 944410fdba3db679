// Without an admission the commit queue keeps the committed document as a
// tree of its own, changed in place from each flush's changes, while writes
// change the working copy's own objects in place (commit-queue.ts). Checked
// over random writes, flushes that succeed or fail, refusals and snapshots:
// readers see exactly what the last good flush wrote (its text, key order
// included), never a write still pending; a snapshot and every change value
// handed out keep what they held.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, ProtocolError } from '../../protocol/index.js';
import { CommitQueue, type Persist } from '../../sidecar/store/commit-queue.js';
import { documentText } from '../../sidecar/store/json-text.js';
import { initialState } from '../../sidecar/store/store-state.js';
import { countsHold, randomOps } from '../helpers/random-writes.js';
import { seededRandom } from '../helpers/seeded-random.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Flush {
  /** The working copy's text as the flush took it (what becomes committed if it succeeds). */
  text: string;
  finish(error?: Error): void;
}

test('property: readers see only what good flushes wrote; snapshots and change values never change', async () => {
  const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seededRandom(seed);
  const flushes: Flush[] = [];
  const persist: Persist = (next) =>
    new Promise<void>((resolve, reject) => flushes.push({ text: JSON.stringify(next.doc), finish: (error) => (error === undefined ? resolve() : reject(error)) }));
  const handedOut: { value: unknown; then: string; what: string }[] = [];
  const handOut = (value: unknown, what: string) => handedOut.push({ value, then: JSON.stringify(value), what });
  // A small size limit refuses some writes after they were applied in place.
  const queue = new CommitQueue(initialState({ big: { k0: 0 } }, 1), persist, { ...DEFAULT_LIMITS, maxDocumentBytes: 600 }, {
    onCommitted: (_state, revisions) => {
      for (const revision of revisions) for (const change of revision.changes) handOut(change.value, `a change of revision ${revision.revision}`);
    },
  });
  let committedText = JSON.stringify(queue.committed.doc);
  let steps = 0;
  for (let step = 0; step < 2000; step++) {
    const label = `SEED=${seed}, step ${step}`;
    const pick = random();
    if (pick < 0.6) {
      queue.submit(randomOps(random)).catch((error: unknown) => {
        if (!(error instanceof ProtocolError)) throw error;
      });
    } else if (pick < 0.8 && flushes.length > 0) {
      const flush = flushes.shift()!;
      const fails = random() < 0.15;
      flush.finish(fails ? new Error('injected flush failure') : undefined);
      await turn();
      if (!fails) committedText = flush.text;
    } else if (pick < 0.85) {
      handOut(queue.snapshot().doc, `a snapshot at step ${step}`);
    } else {
      await turn();
    }
    assert.equal(JSON.stringify(queue.committed.doc), committedText, `${label}: readers see the last good flush, nothing pending`);
    steps++;
  }
  // Let everything settle: each flush left succeeds.
  for (;;) {
    await turn();
    await turn();
    const flush = flushes.shift();
    if (flush === undefined) break;
    flush.finish();
    await turn();
    committedText = flush.text;
    assert.equal(JSON.stringify(queue.committed.doc), committedText, `SEED=${seed}: readers see each good flush`);
  }
  await queue.drain();
  countsHold(queue.committed.doc);
  assert.equal(documentText(queue.committed.doc).text, JSON.stringify(JSON.parse(committedText), null, 2) + '\n', `SEED=${seed}: no cached text outlived a change`);
  for (const { value, then, what } of handedOut) assert.equal(JSON.stringify(value), then, `SEED=${seed}: ${what} changed after it was handed out`);
  assert.ok(queue.counters.flushes > 100 && steps === 2000, `SEED=${seed}: ${queue.counters.flushes} flushes`);
});
