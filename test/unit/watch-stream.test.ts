// WatchStream, the async-iterator side of client.watch(): events come out in
// the order they went in; a reader that falls more than maxBufferedEvents
// behind gets one resync event instead, whose changes turn what it last took
// into the newest value; return() (and so `break` in for-await) ends it and
// closes the watch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ABSENT, applyChange, diffViews, type View } from '../../client/watch-view.js';
import { WatchManager, type ChangeEvent } from '../../client/watches.js';
import { WatchStream } from '../../client/watch-stream.js';
import { WatchResultSchema } from '../../protocol/index.js';
import { jsonValue } from '../fixtures/json-values.js';

const AT = ['server'];
const EPOCH = 'e1';
const value = (v: unknown): View => ({ exists: true, value: v });

/** Feeds `views` as consecutive revisions from `first`, each event carrying the diff from the previous view. */
function feed(stream: WatchStream, views: View[], first = 2, from: View = ABSENT): void {
  let previous = from;
  views.forEach((view, i) => {
    stream.push({ revision: first + i, epoch: EPOCH, source: 'client', changes: diffViews(previous, view, AT) }, view);
    previous = view;
  });
}

const fold = (view: View, event: ChangeEvent): View => event.changes.reduce((v, c) => applyChange(v, AT, c), view);

describe('WatchStream', () => {
  test('delivers events in the order they were pushed; next() waits for the next push', async () => {
    const stream = new WatchStream(AT, 100);
    feed(stream, [value(1), value(2)]);
    assert.equal((await stream.next()).value?.revision, 2);
    assert.equal((await stream.next()).value?.revision, 3);
    const waiting = stream.next();
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'no event, no answer');
    feed(stream, [value(3)], 4, value(2));
    const third = await waiting;
    assert.deepEqual(third, { done: false, value: { revision: 4, epoch: EPOCH, source: 'client', changes: [{ path: AT, value: 3 }] } });
    assert.deepEqual(stream.value, value(3));
  });

  test('past maxBufferedEvents the backlog collapses into one resync event from the last delivered view to the newest', async () => {
    const stream = new WatchStream(AT, 3);
    feed(stream, [value({ a: 1 })]);
    const first = await stream.next();
    assert.equal(first.value?.revision, 2);
    // The reader now holds {a: 1}. Four more arrive while it does not read.
    feed(stream, [value({ a: 2 }), value({ a: 2, b: 1 }), value({ b: 1 }), value({ b: 2, c: [1] })], 3, value({ a: 1 }));
    const collapsed = (await stream.next()).value!;
    assert.deepEqual({ ...collapsed }, {
      revision: 6,
      epoch: EPOCH,
      source: 'resync',
      resync: true,
      changes: [
        { path: ['server', 'a'], deleted: true },
        { path: ['server', 'b'], value: 2 },
        { path: ['server', 'c'], value: [1] },
      ],
    });
    assert.deepEqual(fold(value({ a: 1 }), collapsed), value({ b: 2, c: [1] }));
    // Later events continue from there, not from anything dropped.
    feed(stream, [value({ b: 3, c: [1] })], 7, value({ b: 2, c: [1] }));
    assert.equal((await stream.next()).value?.revision, 7);
  });

  test('exactly maxBufferedEvents waiting is not collapsed; one more is', async () => {
    const stream = new WatchStream(AT, 2);
    feed(stream, [value(1), value(2)]);
    assert.equal((await stream.next()).value?.source, 'client');
    const fresh = new WatchStream(AT, 2);
    feed(fresh, [value(1), value(2), value(3)]);
    const only = await fresh.next();
    assert.deepEqual(only.value, { revision: 4, epoch: EPOCH, source: 'resync', resync: true, changes: [{ path: AT, value: 3 }] }, 'diffed from nothing delivered yet');
  });

  test('a collapse that ends where the reader already is carries no changes', async () => {
    const stream = new WatchStream(AT, 1);
    feed(stream, [value(1)]);
    await stream.next();
    feed(stream, [value(2), value(1)], 3, value(1));
    const event = (await stream.next()).value!;
    assert.equal(event.resync, true);
    assert.deepEqual(event.changes, [], 'the reader is told the revision moved on, with nothing to apply');
  });

  test('return() ends the iteration, drops what is queued and closes the watch once', async () => {
    const stream = new WatchStream(AT, 100);
    let closes = 0;
    stream.close = () => void closes++;
    feed(stream, [value(1), value(2), value(3)]);
    const seen: number[] = [];
    for await (const event of stream) {
      seen.push(event.revision);
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, [2, 3]);
    assert.equal(closes, 1);
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
  });

  test('return() while a reader waits ends that read', async () => {
    const stream = new WatchStream(AT, 100);
    const waiting = stream.next();
    await stream.return();
    assert.deepEqual(await waiting, { done: true, value: undefined });
  });

  test('a failure is thrown after the events already queued have been read', async () => {
    const stream = new WatchStream(AT, 100);
    feed(stream, [value(1)]);
    stream.fail(new Error('watch refused'));
    assert.equal((await stream.next()).value?.revision, 2);
    await assert.rejects(stream.next(), /watch refused/);
  });

  test(
    'with initial "none", a collapse before the first read starts from the value the watch started at',
    async () => {
      const requests: { resolve(response: Record<string, unknown>): void }[] = [];
      const manager = new WatchManager({
        watch: () => new Promise((resolve) => requests.push({ resolve: (response) => resolve(WatchResultSchema.parse(response)) })),
        unwatch: () => undefined,
        isConnected: () => true,
        onResynced: () => undefined,
      });
      const stream = new WatchStream(AT, 2);
      stream.close = manager.open(AT, { initial: 'none' }, stream.push, stream.fail);
      requests[0]!.resolve({ epoch: EPOCH, revision: 1, watchId: 1, snapshot: { value: 1, exists: true } });
      await new Promise((resolve) => setImmediate(resolve));
      manager.onPush({ type: 'event', watchId: 1, revision: 2, source: 'client', changes: [{ path: AT, value: 2 }] });
      manager.onPush({ type: 'event', watchId: 1, revision: 3, source: 'client', changes: [{ path: AT, value: 3 }] });
      manager.onPush({ type: 'event', watchId: 1, revision: 4, source: 'client', changes: [{ path: AT, deleted: true }] });
      const collapsed = (await stream.next()).value!;
      assert.equal(collapsed.resync, true);
      assert.deepEqual(collapsed.changes, [{ path: AT, deleted: true }]);
    },
  );

  test('property: whatever the reader pace, folding what it reads gives each event\'s value and, at the end, the newest', async () => {
    const step = fc.oneof(
      { weight: 3, arbitrary: jsonValue({ key: fc.constantFrom('a', 'b', 'c'), maxDepth: 3, string: fc.constantFrom('x', 'y') }).map((v) => ({ push: value(v) as View })) },
      { weight: 1, arbitrary: fc.constant({ push: ABSENT }) },
      { weight: 3, arbitrary: fc.constant({ read: true as const }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.array(step, { maxLength: 40 }), async (maxBuffered, steps) => {
        const stream = new WatchStream(AT, maxBuffered);
        let newest: View = ABSENT;
        let revision = 1;
        let held: View = ABSENT; // what the reader has built from the events it read
        let queued = 0;
        const read = async () => {
          const { value: event } = await stream.next();
          held = fold(held, event!);
          queued--;
        };
        for (const s of steps) {
          if ('push' in s) {
            revision++;
            stream.push({ revision, epoch: EPOCH, source: 'client', changes: diffViews(newest, s.push, AT) }, s.push);
            newest = s.push;
            queued = queued + 1 > maxBuffered ? 1 : queued + 1; // past the bound: one resync event
          } else if (queued > 0) {
            await read();
          }
        }
        while (queued > 0) await read();
        assert.deepEqual(held, newest);
        assert.deepEqual(stream.value, newest);
      }),
      { numRuns: 300 },
    );
  });
});
