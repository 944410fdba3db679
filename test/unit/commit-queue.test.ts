// Group commit with a fake persist: writes are answered only once their flush
// is durable, writes arriving during a flush share the next one, a failed
// flush fails its writes and leaves the committed state as it was.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_LIMITS, ErrorCode, ProtocolError, decodeValue, encodeMessage, type WriteOp } from '../../protocol/index.js';
import { CommitQueue, type Admission, type FlushGroup, type Persist } from '../../sidecar/store/commit-queue.js';
import { initialState, type StoreState } from '../../sidecar/store/store-state.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';

/** A persist whose flushes complete only when the test says so. */
function controlledPersist() {
  // `text`: next's document as the flush saw it in its turn (the working copy changes in place after it).
  const flushes: { next: StoreState; previous: StoreState; group: FlushGroup; text: string; finish(error?: Error): void }[] = [];
  const persist: Persist = (next, previous, group) =>
    new Promise<void>((resolve, reject) => flushes.push({ next, previous, group, text: JSON.stringify(next.doc), finish: (error) => (error ? reject(error) : resolve()) }));
  return { persist, flushes };
}

// Writes are admitted in microtasks and join a flush scheduled with setImmediate: two turns see it start.
const flush = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
const set = (path: string, value: unknown, ifModRevision?: number): WriteOp[] => [{ op: 'set', path, value, ifModRevision }];

function settled<T>(promise: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
}

describe('CommitQueue', () => {
  test('writes submitted together share one flush; each is answered with its own revision once it is durable', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS);
    const writes = [settled(queue.submit(set('a', 1))), settled(queue.submit(set('b', 2))), settled(queue.submit(set('c', 3)))];
    await flush();
    assert.equal(flushes.length, 1);
    assert.deepEqual(flushes[0]!.next.doc, { a: 1, b: 2, c: 3 });
    assert.ok(writes.every((w) => !w.done), 'nothing is answered before the flush is durable');
    assert.equal(queue.committed.revision, 1, 'readers still see the committed state');
    flushes[0]!.finish();
    await flush();
    assert.deepEqual(
      writes.map((w) => w.value?.revision),
      [2, 3, 4],
    );
    assert.equal(queue.committed.revision, 4);
    assert.deepEqual(queue.counters, { flushes: 1, writes: 3, failedFlushes: 0 });
  });

  test('a set of the value there already makes no revision and no flush, but waits until the value it equals is durable', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({ a: 1 }), 1), persist, DEFAULT_LIMITS);
    const same = await queue.submit(set('a', 1));
    assert.deepEqual(same, { revision: 1, results: [{ modRevision: 1, existed: true }] });
    assert.equal(flushes.length, 0, 'nothing written');

    const change = settled(queue.submit(set('a', 2)));
    await flush();
    const equalToPending = settled(queue.submit(set('a', 2)));
    await flush();
    assert.equal(equalToPending.done, false, 'the value it equals is not durable yet');
    flushes[0]!.finish(new Error('EIO'));
    await flush();
    assert.equal((change.error as ProtocolError).code, ErrorCode.WRITE_FAILED);
    assert.equal(flushes.length, 2, 'judged again after the failed flush: now it changes something');
    flushes[1]!.finish();
    await flush();
    assert.deepEqual(equalToPending.value, { revision: 2, results: [{ modRevision: 2, existed: true }] });
    assert.equal(queue.committed.revision, 2);
  });

  test('writes arriving while a flush runs are grouped into the next flush', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS);
    const first = settled(queue.submit(set('a', 1)));
    await flush();
    const later = [settled(queue.submit(set('b', 1))), settled(queue.submit(set('c', 1)))];
    await flush();
    assert.equal(flushes.length, 1, 'no two flushes overlap');
    flushes[0]!.finish();
    await flush();
    assert.equal(first.done, true);
    assert.ok(later.every((w) => !w.done));
    assert.equal(flushes.length, 2);
    assert.deepEqual(flushes[1]!.previous.doc, { a: 1 });
    assert.deepEqual(flushes[1]!.next.doc, { a: 1, b: 1, c: 1 });
    flushes[1]!.finish();
    await flush();
    assert.ok(later.every((w) => w.done && w.error === undefined));
  });

  test('a failed flush answers its writes WRITE_FAILED, keeps the committed state, and replays the writes queued behind it', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({ keep: true }), 1), persist, DEFAULT_LIMITS);
    const failing = settled(queue.submit(set('a', 1)));
    await flush();
    const behind = settled(queue.submit(set('b', 1)));
    flushes[0]!.finish(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    await flush();
    assert.ok(failing.error instanceof ProtocolError);
    assert.equal(failing.error.code, ErrorCode.WRITE_FAILED);
    assert.deepEqual(failing.error.details, { reason: 'no space left on device', osCode: 'ENOSPC' });
    assert.deepEqual(queue.committed.doc, { keep: true });
    assert.equal(flushes.length, 2);
    assert.deepEqual(flushes[1]!.next.doc, { keep: true, b: 1 }, 'the failed write is not in the next flush');
    flushes[1]!.finish();
    await flush();
    assert.equal(behind.value?.revision, 2);
    assert.deepEqual(queue.counters, { flushes: 1, writes: 1, failedFlushes: 1 });
  });

  test('a write queued behind a failed flush whose precondition depended on it fails CONFLICT on replay', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS);
    const first = settled(queue.submit(set('a', 1, 0)));
    await flush();
    const dependent = settled(queue.submit(set('a', 2, 2))); // a's modRevision in the working copy is 2
    flushes[0]!.finish(new Error('EIO'));
    await flush();
    assert.equal((first.error as ProtocolError).code, ErrorCode.WRITE_FAILED);
    assert.equal((dependent.error as ProtocolError).code, ErrorCode.CONFLICT);
    assert.equal(flushes.length, 1);
  });

  test('a precondition that fails only because of a write not yet durable waits for that flush, then reports CONFLICT against committed state', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS);
    const create = settled(queue.submit(set('a', 1)));
    await flush();
    const cas = settled(queue.submit(set('a', 2, 0)));
    await flush();
    assert.equal(cas.done, false, 'not judged against a state no reader can see yet');
    flushes[0]!.finish();
    await flush();
    assert.equal(create.value?.revision, 2);
    assert.ok(cas.error instanceof ProtocolError);
    assert.equal(cas.error.code, ErrorCode.CONFLICT);
    assert.deepEqual(cas.error.details, { path: 'a', expected: 0, modRevision: 2 });
    assert.equal(flushes.length, 1);
  });

  test('if that flush fails, the waiting write is judged again against what is on disk, and may then succeed', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS);
    const create = settled(queue.submit(set('a', 1)));
    await flush();
    const cas = settled(queue.submit(set('a', 2, 0)));
    await flush();
    flushes[0]!.finish(new Error('EIO'));
    await flush();
    await flush();
    assert.equal((create.error as ProtocolError).code, ErrorCode.WRITE_FAILED);
    assert.equal(cas.done, false);
    assert.equal(flushes.length, 2);
    assert.deepEqual(flushes[1]!.next.doc, { a: 2 });
    flushes[1]!.finish();
    await flush();
    assert.equal(cas.value?.revision, 2);
  });

  test(
    'a precondition that fails only because of a delete not yet durable also waits for that flush',
    async () => {
      const { persist, flushes } = controlledPersist();
      const queue = new CommitQueue(initialState(deepFreeze({ a: 1 }), 1), persist, DEFAULT_LIMITS);
      const remove = settled(queue.submit([{ op: 'delete', path: 'a' }]));
      await flush();
      const cas = settled(queue.submit(set('a', 2, 1)));
      await flush();
      // Readers still see a = 1 at modRevision 1, and that is what the CAS named.
      assert.deepEqual(queue.committed.doc, { a: 1 });
      assert.equal(cas.done, false, `answered before the delete was durable: ${String(cas.error)}`);
      flushes[0]!.finish();
      await flush();
      assert.equal(remove.done, true);
      assert.equal((cas.error as ProtocolError).code, ErrorCode.CONFLICT);
    },
  );

  test(
    'a waiting precondition is answered after the flush it waited for, even while other writes to the same path keep coming',
    async () => {
      const { persist, flushes } = controlledPersist();
      const queue = new CommitQueue(initialState(deepFreeze({ a: 0 }), 1), persist, DEFAULT_LIMITS);
      void queue.submit(set('a', 1));
      await flush();
      const cas = settled(queue.submit(set('a', 'cas', 1)));
      for (let i = 0; i < 5; i++) {
        // Another plain write to `a` arrives during every flush.
        void queue.submit(set('a', i + 2));
        flushes[i]!.finish();
        await flush();
        await flush();
      }
      assert.equal(queue.committed.revision >= 2, true);
      assert.equal(cas.done, true, 'the CAS is still waiting after 5 flushes');
      assert.equal((cas.error as ProtocolError).code, ErrorCode.CONFLICT);
    },
  );

  test('a refused write (CONFLICT, BAD_REQUEST) is answered at once and never flushed', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({ s: 'x' }), 1), persist, DEFAULT_LIMITS);
    await assert.rejects(queue.submit(set('s', 1, 0)), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.CONFLICT);
    await assert.rejects(queue.submit(set('s.t', 1)), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_REQUEST);
    await flush();
    assert.equal(flushes.length, 0);
  });

  test('a write that would make the document larger than maxDocumentBytes is LIMIT_EXCEEDED and applies nothing', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, { ...DEFAULT_LIMITS, maxDocumentBytes: 64 });
    await assert.rejects(queue.submit(set('big', 'x'.repeat(100))), (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.equal(e.code, ErrorCode.LIMIT_EXCEEDED);
      assert.deepEqual(e.details, { limit: 'maxDocumentBytes', max: 64, actual: 116 });
      return true;
    });
    await flush();
    assert.equal(flushes.length, 0);
    const ok = settled(queue.submit(set('small', 1)));
    await flush();
    assert.deepEqual(flushes[0]!.next.doc, { small: 1 });
    flushes[0]!.finish();
    await flush();
    assert.equal(ok.done, true);
  });

  test('writes into an object while a flush runs change neither what it wrote nor what readers see; a refused write leaves nothing behind', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({ obj: {} }), 1), persist, { ...DEFAULT_LIMITS, maxDocumentBytes: 200, maxArrayLength: 3 });
    const first = settled(queue.submit(set('obj.a', 1)));
    await flush();
    assert.equal(flushes.length, 1);
    // Behind the flush: the first write into obj copies it, the next changes that copy in place.
    const behind = [settled(queue.submit(set('obj.b', 2))), settled(queue.submit(set('obj.c', 3)))];
    // Refused after they were applied in place: a batch whose second op fails after its first was applied,
    // a value past maxDocumentBytes, a fourth key (maxArrayLength 3).
    await assert.rejects(
      queue.submit([{ op: 'set', path: 'obj.c', value: 30 }, { op: 'set', path: 'obj.a.deeper', value: 1 }]),
      (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_REQUEST,
    );
    await assert.rejects(queue.submit(set('obj.b', 'x'.repeat(200))), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.LIMIT_EXCEEDED);
    await assert.rejects(queue.submit(set('obj.d', 4)), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.LIMIT_EXCEEDED);
    assert.equal(flushes[0]!.text, '{"obj":{"a":1}}', 'the flush took the first write');
    assert.deepEqual(flushes[0]!.group.changes, [{ segments: ['obj', 'a'], value: 1 }], 'and wrote only its change');
    assert.deepEqual(queue.committed.doc, { obj: {} }, 'readers see only what is durable');
    flushes[0]!.finish();
    await flush();
    assert.equal(first.done, true);
    assert.deepEqual(queue.committed.doc, { obj: { a: 1 } });
    assert.equal(flushes.length, 2);
    assert.equal(flushes[1]!.text, '{"obj":{"a":1,"b":2,"c":3}}', 'nothing of the refused writes; keys in the order they were added');
    assert.deepEqual(flushes[1]!.group.changes.map((c) => c.segments.join('.')), ['obj.b', 'obj.c']);
    const kept = queue.snapshot();
    flushes[1]!.finish();
    await flush();
    assert.ok(behind.every((w) => w.done && w.error === undefined));
    assert.equal(JSON.stringify(queue.committed.doc), '{"obj":{"a":1,"b":2,"c":3}}', 'readers see the second flush, keys in order');
    assert.deepEqual(kept.doc, { obj: { a: 1 } }, 'a snapshot taken before it still holds what it held');
  });

  test('a write replayed behind a failed flush that then changes nothing is answered at the committed revision and never flushed', async () => {
    const { persist, flushes } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({ x: 0 }), 1), persist, DEFAULT_LIMITS);
    const failing = settled(queue.submit(set('x', 1)));
    await flush();
    const back = settled(queue.submit(set('x', 0))); // undoes the first, which then never happened
    flushes[0]!.finish(new Error('EIO'));
    await flush();
    assert.ok(failing.error instanceof ProtocolError && failing.error.code === ErrorCode.WRITE_FAILED);
    assert.deepEqual(back.value, { revision: 1, results: [{ modRevision: 1, existed: true }] });
    assert.equal(flushes.length, 1, 'nothing to flush: no revision is made again');
    assert.deepEqual(queue.committed.doc, { x: 0 });
  });

  test('after refuseWrites, new writes are refused with that error', async () => {
    const { persist } = controlledPersist();
    const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS);
    queue.refuseWrites(new ProtocolError(ErrorCode.SHUTTING_DOWN, 'stopping'));
    await assert.rejects(queue.submit(set('a', 1)), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.SHUTTING_DOWN);
  });

  test(
    'a set whose path nests deeper than maxDepth is refused, so every committed document can be read back',
    async () => {
      const { persist, flushes } = controlledPersist();
      const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS);
      const path = Array(DEFAULT_LIMITS.maxDepth + 1).fill('a');
      const write = settled(queue.submit([{ op: 'set', path, value: 1 }]));
      await flush();
      flushes[0]?.finish();
      await flush();
      // What the sidecar would have to send back for `get ""` must fit the limits it announces.
      const response = encodeMessage({ id: 1, ok: true, epoch: 'e', revision: 2, modRevision: 2, value: queue.committed.doc });
      assert.doesNotThrow(() => decodeValue(response.subarray(4), DEFAULT_LIMITS), 'the committed document cannot be sent back within maxDepth');
      assert.ok(write.error instanceof ProtocolError && write.error.code === ErrorCode.LIMIT_EXCEEDED, 'expected LIMIT_EXCEEDED');
    },
  );

  describe('with an asynchronous admission (a schema)', () => {
    /** Refuses any document holding `bad`; each check takes a different time, so completion order differs from arrival. */
    function slowSchema() {
      let delay = 3;
      const checked: unknown[] = [];
      const admission: Admission = async (next, _previous, changes) => {
        await new Promise((resolve) => setTimeout(resolve, (delay = (delay + 2) % 5)));
        checked.push(next.doc);
        if (Object.hasOwn(next.doc, 'bad')) throw new ProtocolError(ErrorCode.VALIDATION_FAILED, 'bad');
        return { state: { ...next, view: { ...next.doc, seen: true } }, changes };
      };
      return { admission, checked };
    }

    test('writes are judged one after another in arrival order, each against what its predecessors left', async () => {
      const { persist, flushes } = controlledPersist();
      const { admission, checked } = slowSchema();
      const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS, {}, admission);
      const a = settled(queue.submit(set('a', 1)));
      const bad = queue.submit(set('bad', 1));
      const b = settled(queue.submit(set('b', 2)));
      await assert.rejects(bad, (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.VALIDATION_FAILED);
      for (let finished = 0; !(a.done && b.done); await flush()) while (finished < flushes.length) flushes[finished++]!.finish();
      assert.deepEqual(checked, [{ a: 1 }, { a: 1, bad: 1 }, { a: 1, b: 2 }], 'the refused write left nothing behind');
      assert.deepEqual([a.value?.revision, b.value?.revision], [2, 3]);
      assert.deepEqual(queue.committed.view, { a: 1, b: 2, seen: true }, 'readers see the admitted view');
    });

    test('a write admitted in the turn a flush ends is not committed with the batch before it', async () => {
      // The late write's admission ends 0..8 microtasks before the first flush: one of them lands between the
      // admission setting the working copy and its write being queued.
      for (let hops = 0; hops <= 8; hops++) {
        const label = `flush ended ${hops} microtasks after the admission`;
        const { persist, flushes } = controlledPersist();
        let admit: (() => void) | undefined;
        // Admits at once, except the write to `late`, which waits to be let through.
        const admission: Admission = async (next, _previous, changes) => {
          if (Object.hasOwn(next.doc, 'late')) await new Promise<void>((resolve) => (admit = resolve));
          return { state: next, changes };
        };
        const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS, {}, admission);
        const first = settled(queue.submit(set('first', 1)));
        while (flushes.length === 0) await flush();
        const second = settled(queue.submit(set('second', 1))); // queued behind the flush in progress
        const late = settled(queue.submit(set('late', 1)));
        while (admit === undefined) await flush();
        admit();
        for (let hop = 0; hop < hops; hop++) await Promise.resolve();
        flushes[0]!.finish();
        while (flushes.length < 2) await flush();
        assert.equal(first.done, true, label);
        const second_ = flushes[1]!;
        if (second_.group.changes.length === 1) {
          // The second flush took only the write queued behind the first: it commits revision 3 and its document.
          assert.deepEqual(second_.group.changes.map((c) => c.segments.join('.')), ['second'], label);
          assert.equal(second_.next.revision, 3, `${label}: the second flush commits revision 3, not the late write`);
          assert.equal(second_.text, '{"first":1,"second":1}', label);
          second_.finish();
          while (flushes.length < 3) await flush();
          assert.deepEqual(queue.committed.doc, { first: 1, second: 1 }, `${label}: readers do not see the late write before it is durable`);
        }
        flushes.at(-1)!.finish(new Error('EIO'));
        while (!late.done) await flush();
        assert.ok(late.error instanceof ProtocolError && late.error.code === ErrorCode.WRITE_FAILED, label);
        assert.equal(Object.hasOwn(queue.committed.doc, 'late'), false, `${label}: the failed write was never served`);
        await queue.drain();
        assert.equal(Object.hasOwn(queue.committed.doc, 'late'), false, `${label}: nor after`);
      }
    });

    test('after a failed flush the writes queued behind it are judged again against the committed state', async () => {
      const { persist, flushes } = controlledPersist();
      const { admission, checked } = slowSchema();
      const queue = new CommitQueue(initialState(deepFreeze({}), 1), persist, DEFAULT_LIMITS, {}, admission);
      const failing = settled(queue.submit(set('a', 1)));
      while (flushes.length === 0) await flush();
      const behind = queue.submit(set('b', 1));
      while (checked.length < 2) await flush();
      flushes[0]!.finish(new Error('EIO'));
      while (flushes.length < 2) await flush();
      assert.ok(failing.error instanceof ProtocolError && failing.error.code === ErrorCode.WRITE_FAILED);
      assert.deepEqual(checked.slice(-1), [{ b: 1 }], 'judged again without the failed write');
      assert.deepEqual(flushes[1]!.next.doc, { b: 1 });
      flushes[1]!.finish();
      assert.equal((await behind).revision, 2);
      await queue.drain();
    });
  });
});
