// WatchHub with fake sinks: a watch's events wait for its answer, replay from
// a start revision comes from the history, a resume the history cannot serve
// (or from another epoch) is answered with a snapshot and a resync reason,
// the per-connection limit holds, idle watches get progress bookmarks, and
// removed watches hear nothing more. The messages it builds are the ones the
// golden corpus records.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import {
  DEFAULT_LIMITS,
  ErrorCode,
  ProtocolError,
  WatchEventSchema,
  WatchProgressSchema,
  WatchResultSchema,
  encodeMessage,
  type WriteOp,
} from '../../protocol/index.js';
import type { CommittedRevision } from '../../sidecar/store/commit-queue.js';
import { History, type HistoryOptions } from '../../sidecar/store/history.js';
import { applyOps, initialState, type StoreState } from '../../sidecar/store/store-state.js';
import { WatchHub, type WatchSink } from '../../sidecar/watch/watch-hub.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';

const EPOCH = '9f2c4e1a7b3d5c60';

/** A connection as the hub sees it: everything pushed to it, in order. */
class FakeSink implements WatchSink {
  readonly messages: Record<string, unknown>[] = [];
  push(message: Record<string, unknown>): void {
    this.messages.push(message);
  }
  events(): { watchId: number; revision: number; changes: unknown[] }[] {
    return this.messages.filter((m) => m.type === 'event').map((m) => WatchEventSchema.parse(m));
  }
}

/** A store, its history and a hub wired as sidecar.ts wires them: commit → history.append → publish. */
function harness(options: { doc?: Record<string, unknown>; revision?: number; maxWatches?: number; history?: HistoryOptions; progressMs?: number } = {}) {
  let state: StoreState = initialState(deepFreeze(options.doc ?? {}), options.revision ?? 1);
  const history = new History(state.revision, options.history);
  const hub = new WatchHub(EPOCH, history, () => state, { maxWatchesPerConnection: options.maxWatches ?? 256, maxWatchPathBytes: DEFAULT_LIMITS.maxWatchPathBytes, maxDepth: DEFAULT_LIMITS.maxDepth }, options.progressMs);
  const commit = (...ops: WriteOp[]): CommittedRevision => {
    const applied = applyOps(state, ops);
    state = applied.state;
    deepFreeze(state.doc);
    const revision: CommittedRevision = { revision: state.revision, source: 'client', changes: applied.changes, bytes: 10 };
    history.append([revision]);
    hub.publish([revision]);
    return revision;
  };
  return { hub, commit, state: () => state };
}

const set = (path: string, value: unknown): WriteOp => ({ op: 'set', path, value });

/** Reads one corpus frame ('#' lines are comments). */
function corpusFrame(name: string): string {
  return readFileSync(new URL(`../../../test/fixtures/frames/${name}.hex`, import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('')
    .trim();
}

describe('WatchHub.create', () => {
  test('answers with the epoch, the committed revision and a new watch id; a snapshot only when asked', (t) => {
    const { hub, commit } = harness({ doc: { server: { port: 1 } } });
    t.after(() => hub.close());
    commit(set('x', 1));
    const sink = new FakeSink();
    const plain = hub.create(sink, { path: 'server' });
    assert.deepEqual(plain.result, { epoch: EPOCH, revision: 2, watchId: 1 });
    const snap = hub.create(sink, { path: 'server.port', initial: 'snapshot' });
    assert.deepEqual(snap.result, { epoch: EPOCH, revision: 2, watchId: 2, snapshot: { value: 1, exists: true } });
    const none = hub.create(sink, { path: 'server', initial: 'none' });
    assert.equal('snapshot' in none.result, false);
    const absent = hub.create(sink, { path: ['no', 'such'], initial: 'snapshot' });
    assert.deepEqual(absent.result.snapshot, { value: null, exists: false });
    for (const created of [plain, snap, none, absent]) assert.equal(WatchResultSchema.safeParse(created.result).success, true);
    assert.equal(hub.size, 4);
  });

  test('a stored null is a snapshot that exists', (t) => {
    const { hub } = harness({ doc: { a: null } });
    t.after(() => hub.close());
    assert.deepEqual(hub.create(new FakeSink(), { path: 'a', initial: 'snapshot' }).result.snapshot, { value: null, exists: true });
  });

  test('a malformed path is refused before anything is created', (t) => {
    const { hub } = harness();
    t.after(() => hub.close());
    assert.throws(() => hub.create(new FakeSink(), { path: 'a.__proto__' }), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_REQUEST);
    assert.equal(hub.size, 0);
  });

  test('watch ids are unique across connections', (t) => {
    const { hub } = harness();
    t.after(() => hub.close());
    const ids = [new FakeSink(), new FakeSink(), new FakeSink()].map((sink) => hub.create(sink, { path: '' }).result.watchId);
    assert.equal(new Set(ids).size, 3);
  });
});

describe('WatchHub: events never precede the answer', () => {
  test('events of a watch not yet activated are buffered, then sent in order on activate, before any later event', (t) => {
    const { hub, commit } = harness();
    t.after(() => hub.close());
    const sink = new FakeSink();
    const { activate } = hub.create(sink, { path: 'a' });
    commit(set('a', 1));
    commit(set('b', 1));
    commit(set('b', 2));
    assert.deepEqual(sink.messages, [], 'nothing may reach the connection before the answer has been sent');
    activate();
    assert.deepEqual(
      sink.events().map((e) => e.revision),
      [2],
    );
    commit(set('a', 3));
    assert.deepEqual(
      sink.events().map((e) => [e.revision, e.changes]),
      [
        [2, [{ path: ['a'], value: 1 }]],
        [5, [{ path: ['a'], value: 3 }]],
      ],
    );
  });

  test('one event per revision that touches the path, with all of its changes under the path, none for others', (t) => {
    const { hub, commit } = harness({ doc: { a: { x: 0 } } });
    t.after(() => hub.close());
    const sink = new FakeSink();
    hub.create(sink, { path: 'a' }).activate();
    commit(set('a.x', 1), set('b', 1), set('a.y', 2));
    commit(set('b', 2));
    commit({ op: 'delete', path: 'a.x' });
    const events = sink.events();
    assert.deepEqual(
      events.map((e) => [e.revision, e.changes]),
      [
        [2, [{ path: ['a', 'x'], value: 1 }, { path: ['a', 'y'], value: 2 }]],
        [4, [{ path: ['a', 'x'], deleted: true }]],
      ],
    );
    assert.deepEqual(sink.messages[0], { type: 'event', watchId: 1, revision: 2, source: 'client', changes: events[0]!.changes });
  });

  test('each watch gets only its own events, on its own connection', (t) => {
    const { hub, commit } = harness();
    t.after(() => hub.close());
    const [one, two] = [new FakeSink(), new FakeSink()];
    const w1 = hub.create(one, { path: 'a' });
    const w2 = hub.create(two, { path: 'b' });
    w1.activate();
    w2.activate();
    commit(set('a', 1));
    commit(set('b', 1));
    assert.deepEqual(one.events().map((e) => [e.watchId, e.revision]), [[w1.result.watchId, 2]]);
    assert.deepEqual(two.events().map((e) => [e.watchId, e.revision]), [[w2.result.watchId, 3]]);
  });
});

describe('WatchHub: resume from a start revision', () => {
  test('replays every committed revision from startRevision that touches the path, then continues live, none twice', (t) => {
    const { hub, commit } = harness();
    t.after(() => hub.close());
    for (let i = 1; i <= 5; i++) commit(set('a', i)); // revisions 2..6
    commit(set('b', 1)); // 7
    const sink = new FakeSink();
    const { result, activate } = hub.create(sink, { path: 'a', startRevision: 4, epoch: EPOCH });
    assert.deepEqual(result, { epoch: EPOCH, revision: 7, watchId: 1 }, 'no snapshot, no resync: the replay is complete');
    commit(set('a', 99)); // 8, between the answer being built and sent
    assert.deepEqual(sink.messages, []);
    activate();
    commit(set('a', 100)); // 9
    assert.deepEqual(
      sink.events().map((e) => [e.revision, e.changes]),
      [
        [4, [{ path: ['a'], value: 3 }]],
        [5, [{ path: ['a'], value: 4 }]],
        [6, [{ path: ['a'], value: 5 }]],
        [8, [{ path: ['a'], value: 99 }]],
        [9, [{ path: ['a'], value: 100 }]],
      ],
    );
  });

  test('startRevision one past the committed revision: nothing to replay, no resync', (t) => {
    const { hub, commit } = harness();
    t.after(() => hub.close());
    commit(set('a', 1));
    const sink = new FakeSink();
    const { result, activate } = hub.create(sink, { path: 'a', startRevision: 3, epoch: EPOCH, initial: 'none' });
    activate();
    assert.deepEqual(result, { epoch: EPOCH, revision: 2, watchId: 1 });
    assert.deepEqual(sink.messages, []);
  });

  test('without an epoch the start revision is taken to be of this epoch', (t) => {
    const { hub, commit } = harness();
    t.after(() => hub.close());
    commit(set('a', 1));
    const sink = new FakeSink();
    const { result, activate } = hub.create(sink, { path: 'a', startRevision: 2 });
    activate();
    assert.equal(result.resync, undefined);
    assert.deepEqual(sink.events().map((e) => e.revision), [2]);
  });

  test('another epoch: resync "epoch" with a snapshot (even with initial "none"), nothing replayed, live from the answer', (t) => {
    const { hub, commit } = harness({ doc: { a: 0 } });
    t.after(() => hub.close());
    commit(set('a', 1));
    commit(set('a', 2));
    const sink = new FakeSink();
    const { result, activate } = hub.create(sink, { path: 'a', startRevision: 2, epoch: 'another-epoch', initial: 'none' });
    assert.deepEqual(result, { epoch: EPOCH, revision: 3, watchId: 1, snapshot: { value: 2, exists: true }, resync: 'epoch' });
    activate();
    assert.deepEqual(sink.messages, []);
    commit(set('a', 3));
    assert.deepEqual(sink.events().map((e) => e.revision), [4]);
  });

  test('history compacted past startRevision: resync "compacted" with a snapshot; the oldest held revision still replays', (t) => {
    const { hub, commit } = harness({ history: { minEntries: 2, minAgeMs: 0, maxBytes: Number.MAX_SAFE_INTEGER } });
    t.after(() => hub.close());
    for (let i = 1; i <= 5; i++) commit(set('a', i)); // 2..6; history holds 5 and 6
    const late = new FakeSink();
    const compacted = hub.create(late, { path: 'a', startRevision: 4, epoch: EPOCH });
    assert.deepEqual(compacted.result, { epoch: EPOCH, revision: 6, watchId: 1, snapshot: { value: 5, exists: true }, resync: 'compacted' });
    compacted.activate();
    assert.deepEqual(late.messages, [], 'no partial replay alongside a resync');

    const onTime = new FakeSink();
    const replayed = hub.create(onTime, { path: 'a', startRevision: 5, epoch: EPOCH });
    assert.equal(replayed.result.resync, undefined);
    replayed.activate();
    assert.deepEqual(onTime.events().map((e) => e.revision), [5, 6]);
  });

  test('a start revision before the loaded document (0 or 1 on a fresh sidecar) is compacted', (t) => {
    const { hub } = harness();
    t.after(() => hub.close());
    assert.equal(hub.create(new FakeSink(), { path: 'a', startRevision: 0 }).result.resync, 'compacted');
    assert.equal(hub.create(new FakeSink(), { path: 'a', startRevision: 1 }).result.resync, 'compacted');
    assert.equal(hub.create(new FakeSink(), { path: 'a', startRevision: 2 }).result.resync, undefined);
  });
});

describe('WatchHub: limits and removal', () => {
  test('maxWatchesPerConnection: the next watch on that connection is LIMIT_EXCEEDED; other connections are not affected', (t) => {
    const { hub } = harness({ maxWatches: 2 });
    t.after(() => hub.close());
    const [sink, other] = [new FakeSink(), new FakeSink()];
    const first = hub.create(sink, { path: 'a' });
    hub.create(sink, { path: 'a' });
    assert.throws(
      () => hub.create(sink, { path: 'b' }),
      (error: unknown) =>
        error instanceof ProtocolError &&
        error.code === ErrorCode.LIMIT_EXCEEDED &&
        (error.details as Record<string, unknown>).limit === 'maxWatchesPerConnection' &&
        (error.details as Record<string, unknown>).max === 2,
    );
    assert.equal(hub.size, 2, 'the refused watch was not created');
    hub.create(other, { path: 'b' });
    assert.equal(hub.remove(sink, first.result.watchId as number), true);
    hub.create(sink, { path: 'b' });
    assert.equal(hub.size, 3);
  });

  test('remove ends one watch and says whether it was open on that connection', (t) => {
    const { hub, commit } = harness();
    t.after(() => hub.close());
    const [sink, other] = [new FakeSink(), new FakeSink()];
    const a = hub.create(sink, { path: 'a' });
    const b = hub.create(sink, { path: 'a' });
    a.activate();
    b.activate();
    const aId = a.result.watchId as number;
    assert.equal(hub.remove(other, aId), false, 'another connection cannot end it');
    assert.equal(hub.remove(sink, 999), false);
    assert.equal(hub.remove(sink, aId), true);
    assert.equal(hub.remove(sink, aId), false, 'only once');
    commit(set('a', 1));
    assert.deepEqual(sink.events().map((e) => e.watchId), [b.result.watchId]);
  });

  test('removeAll ends every watch of a closed connection, and only those', (t) => {
    const { hub, commit } = harness();
    t.after(() => hub.close());
    const [gone, stays] = [new FakeSink(), new FakeSink()];
    hub.create(gone, { path: 'a' }).activate();
    hub.create(gone, { path: 'b' }).activate();
    hub.create(stays, { path: 'a' }).activate();
    hub.removeAll(gone);
    assert.equal(hub.size, 1);
    commit(set('a', 1), set('b', 1));
    assert.deepEqual(gone.messages, []);
    assert.equal(stays.events().length, 1);
    hub.create(gone, { path: 'a' }); // the limit starts again from zero
  });
});

describe('WatchHub: progress on idle watches', () => {
  /** Advances mocked time one second at a time (so every interval tick sees its own Date.now()). */
  const advance = (t: TestContext, ms: number) => {
    for (let done = 0; done < ms; done += 1000) t.mock.timers.tick(Math.min(1000, ms - done));
  };

  test('a watch idle for progressMs gets {type: progress, watchId, revision: committed}; activity resets the clock', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const { hub, commit } = harness();
    t.after(() => hub.close());
    const sink = new FakeSink();
    const { result, activate } = hub.create(sink, { path: 'a' });
    activate();
    commit(set('b', 1)); // not under the path: does not count as activity
    advance(t, 9000);
    assert.equal(sink.messages.length, 0);
    advance(t, 1000);
    assert.deepEqual(sink.messages, [{ type: 'progress', watchId: result.watchId, revision: 2 }]);
    assert.equal(WatchProgressSchema.safeParse(sink.messages[0]).success, true);

    sink.messages.length = 0;
    advance(t, 2000); // t = 12 s
    commit(set('a', 1)); // an event at 12 s
    advance(t, 9000); // 21 s
    assert.deepEqual(sink.messages.map((m) => m.type), ['event']);
    advance(t, 4000); // 25 s: idle for 13 s, checked every progressMs / 2
    assert.deepEqual(sink.messages.map((m) => m.type), ['event', 'progress']);
    assert.equal(sink.messages[1]!.revision, 3);
  });

  test('progress is sent again every progressMs while the watch stays idle', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const { hub } = harness({ progressMs: 2000 });
    t.after(() => hub.close());
    const sink = new FakeSink();
    hub.create(sink, { path: 'a' }).activate();
    advance(t, 10_000);
    assert.equal(sink.messages.filter((m) => m.type === 'progress').length, 5);
  });

  test('no progress before the watch is activated, none after it is removed, none after close', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const { hub } = harness();
    t.after(() => hub.close());
    const [pending, removed, closedHub] = [new FakeSink(), new FakeSink(), new FakeSink()];
    hub.create(pending, { path: 'a' });
    const r = hub.create(removed, { path: 'a' });
    r.activate();
    hub.remove(removed, r.result.watchId as number);
    advance(t, 30_000);
    assert.deepEqual(pending.messages, []);
    assert.deepEqual(removed.messages, []);

    const other = harness();
    other.hub.create(closedHub, { path: 'a' }).activate();
    other.hub.close();
    advance(t, 30_000);
    assert.deepEqual(closedHub.messages, []);
  });
});

describe('WatchHub messages are the ones in the golden corpus', () => {
  test('answer, events and progress of the documented scenario encode to the corpus frames byte for byte', (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
    const { hub, commit } = harness({ doc: { server: { port: 8080, tls: true } }, revision: 17 });
    t.after(() => hub.close());
    const sink = new FakeSink();
    const watch = hub.create(sink, { path: 'server', initial: 'snapshot' });
    // session.ts sends the result fields, then id and ok.
    assert.equal(encodeMessage({ ...watch.result, id: 40, ok: true }).toString('hex'), corpusFrame('response-watch'));
    watch.activate();
    const portSink = new FakeSink();
    hub.create(portSink, { path: 'server.port' }).activate();

    commit(set('server.port', 8081), { op: 'delete', path: 'server.tls' }); // 18
    assert.equal(encodeMessage(sink.messages[0]).toString('hex'), corpusFrame('watch-event'));
    commit(set('server', { port: 9090 })); // 19
    assert.equal(encodeMessage(portSink.messages[1]).toString('hex'), corpusFrame('watch-event-above'));

    for (let i = 0; i < 11; i++) commit(set('elsewhere', i)); // 20..30
    sink.messages.length = 0;
    for (let i = 0; i < 10; i++) t.mock.timers.tick(1000);
    assert.equal(encodeMessage(sink.messages[0]).toString('hex'), corpusFrame('watch-progress'));
  });

  test('a compacted resume answers as the corpus frame response-watch-resync records', (t) => {
    const { hub, commit } = harness({ doc: { server: { port: 1 } }, revision: 17, history: { minEntries: 1, minAgeMs: 0, maxBytes: Number.MAX_SAFE_INTEGER } });
    t.after(() => hub.close());
    hub.create(new FakeSink(), { path: 'x' }); // watch 1
    for (let i = 0; i < 7; i++) commit(set('other', i)); // 18..24
    commit({ op: 'delete', path: 'server' }); // 25
    const resumed = hub.create(new FakeSink(), { path: 'server', startRevision: 18, epoch: EPOCH, initial: 'none' });
    assert.equal(encodeMessage({ ...resumed.result, id: 42, ok: true }).toString('hex'), corpusFrame('response-watch-resync'));
  });
});
