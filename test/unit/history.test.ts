// The revision history behind watch resumes: since(k) replays exactly the
// revisions after k while they are all held, and answers "compacted"
// (undefined) as soon as one of them has been trimmed — by count, by age (with
// an injected clock) or by the byte budget. What it returns is always a
// contiguous run up to the newest revision.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../protocol/index.js';
import { CommitQueue, type CommittedRevision } from '../../sidecar/store/commit-queue.js';
import { DEFAULT_HISTORY, History, revisionCost, type HistoryOptions } from '../../sidecar/store/history.js';
import { documentText, knownBytes } from '../../sidecar/store/json-text.js';
import { initialState } from '../../sidecar/store/store-state.js';

/** Revisions `from..to`, each setting `r` to a string of `extra` characters (each costs `2 × extra` more to hold). */
function revisions(from: number, to: number, extra = 0): CommittedRevision[] {
  const out: CommittedRevision[] = [];
  for (let revision = from; revision <= to; revision++) out.push({ revision, source: 'client', changes: [{ segments: ['r'], value: 'x'.repeat(extra) }], bytes: 0 });
  return out;
}

const numbers = (held: readonly CommittedRevision[] | undefined): number[] | undefined => held?.map((r) => r.revision);

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** The oldest k for which since(k) still answers: the compaction boundary. */
function boundary(history: History, newest: number): number {
  let k = newest;
  while (k > 0 && history.since(k - 1) !== undefined) k--;
  return k;
}

const roomy: HistoryOptions = { minEntries: 1_000_000, minAgeMs: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

describe('History.since', () => {
  test('the defaults are the documented ones: 10,000 revisions or 10 minutes, within 64 MiB', () => {
    assert.deepEqual(DEFAULT_HISTORY, { minEntries: 10_000, minAgeMs: 600_000, maxBytes: 64 * 1024 * 1024 });
  });

  test('a fresh history replays nothing after the loaded revision and cannot reach before it', () => {
    const history = new History(1, roomy);
    assert.deepEqual(history.since(1), []);
    assert.equal(history.since(0), undefined, 'revision 1 is the loaded document, not a change that can be replayed');
  });

  test('replays every revision after the one asked for, in order, the same objects that were appended', () => {
    const history = new History(1, roomy);
    const appended = revisions(2, 6);
    history.append(appended.slice(0, 2));
    history.append(appended.slice(2));
    assert.deepEqual(numbers(history.since(1)), [2, 3, 4, 5, 6]);
    assert.deepEqual(numbers(history.since(3)), [4, 5, 6]);
    assert.deepEqual(numbers(history.since(5)), [6]);
    assert.deepEqual(history.since(6), []);
    const replayed = history.since(4)!;
    assert.equal(replayed[0]!.changes, appended[3]!.changes);
    assert.equal(replayed[0]!.source, 'client');
  });

  test('a revision beyond the newest is answered with nothing to replay, not as compacted', () => {
    // A resume can never legitimately ask for this (clients resume at last seen + 1); recorded as what happens.
    const history = new History(1, roomy);
    history.append(revisions(2, 4));
    assert.deepEqual(history.since(10), []);
  });

  test('trimmed by count (entries older than minAgeMs): exactly the last minEntries stay replayable', () => {
    const clock = manualClock();
    const history = new History(1, { minEntries: 3, minAgeMs: 1000, maxBytes: Number.MAX_SAFE_INTEGER, now: clock.now });
    clock.advance(5000);
    for (let r = 2; r <= 10; r++) {
      history.append(revisions(r, r));
      clock.advance(2000); // every entry is old by the next append
    }
    assert.deepEqual(numbers(history.since(7)), [8, 9, 10], 'the oldest held revision can be replayed');
    assert.equal(history.since(6), undefined, 'one before it cannot');
    assert.equal(history.since(1), undefined);
    assert.equal(boundary(history, 10), 7);
  });

  test('count trimming keeps the boundary exact when one append brings many revisions', () => {
    const history = new History(1, { minEntries: 4, minAgeMs: 0, maxBytes: Number.MAX_SAFE_INTEGER });
    history.append(revisions(2, 21));
    assert.deepEqual(numbers(history.since(17)), [18, 19, 20, 21]);
    assert.equal(history.since(16), undefined);
  });

  test('young entries are kept beyond minEntries, and trimmed by the first append after they age', () => {
    const clock = manualClock();
    const history = new History(1, { minEntries: 2, minAgeMs: 60_000, maxBytes: Number.MAX_SAFE_INTEGER, now: clock.now });
    history.append(revisions(2, 11));
    clock.advance(59_999);
    history.append(revisions(12, 12));
    assert.deepEqual(numbers(history.since(1)), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'all younger than minAgeMs: all held');
    clock.advance(1);
    // Ageing alone trims nothing: trimming happens on append.
    assert.equal(numbers(history.since(1))?.length, 11);
    history.append(revisions(13, 13));
    // 2..11 are now 60 s old; 12 and 13 are the last two (minEntries) and 12 is young anyway.
    assert.deepEqual(numbers(history.since(11)), [12, 13]);
    assert.equal(history.since(10), undefined);
  });

  test('an entry is kept while it is young OR among the last minEntries, whichever holds more', () => {
    const clock = manualClock();
    const history = new History(1, { minEntries: 5, minAgeMs: 1000, maxBytes: Number.MAX_SAFE_INTEGER, now: clock.now });
    history.append(revisions(2, 4)); // t=0
    clock.advance(1000);
    history.append(revisions(5, 12)); // t=1000: 2..4 are old and beyond the last 5
    assert.equal(boundary(history, 12), 4);
    clock.advance(500);
    history.append(revisions(13, 13)); // 5..12 still young (500 ms)
    assert.equal(boundary(history, 13), 4, 'young entries beyond minEntries stay');
  });

  test('the byte budget trims oldest-first even among young entries and below minEntries', () => {
    const cost = revisionCost(revisions(2, 2)[0]!);
    const history = new History(1, { minEntries: 1000, minAgeMs: Number.MAX_SAFE_INTEGER, maxBytes: 5 * cost });
    history.append(revisions(2, 6));
    assert.deepEqual(numbers(history.since(1)), [2, 3, 4, 5, 6], 'exactly at the budget: all held');
    history.append(revisions(7, 7));
    assert.deepEqual(numbers(history.since(2)), [3, 4, 5, 6, 7]);
    assert.equal(history.since(1), undefined);
    history.append(revisions(8, 8, cost / 2)); // costs twice as much: two old ones go
    assert.deepEqual(numbers(history.since(4)), [5, 6, 7, 8]);
    assert.equal(history.since(3), undefined);
  });

  test('a single revision larger than the budget empties the history; only the newest position stays reachable', () => {
    const history = new History(1, { minEntries: 1000, minAgeMs: Number.MAX_SAFE_INTEGER, maxBytes: 1000 });
    history.append(revisions(2, 3));
    assert.ok(revisionCost(revisions(2, 2)[0]!) <= 500, 'two small revisions fit');
    history.append(revisions(4, 4, 5000));
    assert.deepEqual(history.since(4), [], 'a watcher that saw revision 4 misses nothing');
    assert.equal(history.since(3), undefined, 'revision 4 itself is gone');
    history.append(revisions(5, 5));
    assert.deepEqual(numbers(history.since(4)), [5]);
    assert.equal(history.since(3), undefined);
  });

  test('after many trims (the held window is re-based internally) replay stays exact', () => {
    const history = new History(1, { minEntries: 10, minAgeMs: 0, maxBytes: Number.MAX_SAFE_INTEGER });
    for (let r = 2; r <= 5001; r += 7) history.append(revisions(r, Math.min(r + 6, 5001)));
    assert.deepEqual(numbers(history.since(4991)), [4992, 4993, 4994, 4995, 4996, 4997, 4998, 4999, 5000, 5001]);
    assert.equal(history.since(4990), undefined);
  });

  test('property: since(k) is the contiguous run k+1..newest at and after the boundary, compacted before it, and the guarantees hold', () => {
    const step = fc.record({
      count: fc.integer({ min: 1, max: 5 }),
      bytes: fc.integer({ min: 0, max: 300 }),
      advanceMs: fc.integer({ min: 0, max: 400 }),
    });
    fc.assert(
      fc.property(
        fc.record({ minEntries: fc.integer({ min: 0, max: 8 }), minAgeMs: fc.integer({ min: 0, max: 1000 }), maxBytes: fc.integer({ min: 0, max: 3000 }) }),
        fc.array(step, { maxLength: 40 }),
        (options, steps) => {
          const clock = manualClock();
          const history = new History(1, { ...options, now: clock.now });
          const appended: { revision: number; cost: number; at: number }[] = [];
          let newest = 1;
          let lastBoundary = 0;
          for (const { count, bytes, advanceMs } of steps) {
            clock.advance(advanceMs);
            const added = revisions(newest + 1, newest + count, bytes);
            history.append(added);
            for (const revision of added) appended.push({ revision: revision.revision, cost: revisionCost(revision), at: clock.now() });
            newest += count;

            const b = boundary(history, newest);
            assert.ok(b >= lastBoundary, 'the boundary never moves back');
            lastBoundary = b;
            for (let k = b; k <= newest; k++) {
              const expected = Array.from({ length: newest - k }, (_, i) => k + 1 + i);
              assert.deepEqual(numbers(history.since(k)), expected);
            }
            if (b > 0) assert.equal(history.since(b - 1), undefined);

            // Guarantee: the newest entries are all held while they fit the budget and are
            // young or among the last minEntries.
            let cost = 0;
            for (let i = appended.length - 1; i >= 0; i--) {
              const entry = appended[i]!;
              cost += entry.cost;
              const wanted = appended.length - i <= options.minEntries || clock.now() - entry.at < options.minAgeMs;
              if (cost > options.maxBytes || !wanted) break;
              assert.ok(b < entry.revision, `revision ${entry.revision} must still be replayable (boundary ${b})`);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('History memory budget as the sidecar feeds it', () => {
  test('a revision is charged at least what it keeps alive: every slot of the array it carries and the array\'s file text', async () => {
    const big = Array.from({ length: 100_000 }, (_, i) => i);
    const committed: CommittedRevision[] = [];
    const queue = new CommitQueue(initialState({ list: big }, 1), async (next) => void documentText(next.doc), DEFAULT_LIMITS, {
      onCommitted: (_state, revs) => committed.push(...revs),
    });
    await queue.submit([{ op: 'set', path: 'list.0', value: -1 }], 'client', 40 /* the request frame's size */);
    const [revision] = committed;
    assert.ok(revision !== undefined);
    const held = revision.changes[0]!.value as unknown[];
    assert.equal(held.length, 100_000, 'the change carries the whole array');
    const textBytes = knownBytes(held);
    assert.ok(textBytes !== undefined && textBytes > 100_000, 'the flush rendered (and cached) the array\'s text');
    const floor = 8 * held.length + textBytes;
    assert.ok(revisionCost(revision) >= floor, `charged ${revisionCost(revision)} bytes, below the ${floor} its slots and text take`);
  });

  test('the heap stays under budget + 3 × document size over 200 single-element sets to a 100,000-element array (1,000 in a real sidecar: test/chaos/history-heap.test.ts)', async () => {
    // Trimmed entries used to stay referenced until a lazy compaction past 1,024 of them,
    // and a revision was charged its request's bytes, not the array it holds.
    const gc = collectGarbage();
    const budget = 16 * 1024 * 1024;
    const committed = { doc: {} as object };
    let history: History | undefined = new History(1, { minEntries: 10_000, minAgeMs: 10 * 60_000, maxBytes: budget });
    const queue = new CommitQueue(initialState({ list: Array.from({ length: 100_000 }, (_, i) => i + 1_000_000) }, 1), async (next) => {
      documentText(next.doc);
      committed.doc = next.doc;
    }, DEFAULT_LIMITS, { onCommitted: (_state, revs) => history!.append(revs) });
    await queue.submit([{ op: 'set', path: 'list.0', value: 0 }]);
    const documentBytes = documentText(committed.doc).bytes;
    const base = gc();
    let worst = 0;
    for (let i = 1; i <= 200; i++) {
      await queue.submit([{ op: 'set', path: `list.${i % 100_000}`, value: -i }]);
      if (i % 25 === 0) worst = Math.max(worst, gc() - base);
    }
    const bound = budget + 3 * documentBytes;
    assert.ok(worst < bound, `history and working copies took ${mib(worst)} MiB of heap, above the budget + 3 × document (${mib(bound)} MiB)`);
    history = undefined; // the history was what held the revisions
    assert.ok(gc() - base < 3 * documentBytes, 'without the history the revisions are garbage');
  });
});

/** A full collection, then the heap in use: gc is exposed at run time, so the test needs no command-line flag. */
function collectGarbage(): () => number {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
