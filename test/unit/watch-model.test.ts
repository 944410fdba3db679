// Model test of watches, the core correctness property: random batches go
// through applyOps as committed revisions (several per flush, as the commit
// queue groups them) into the history and WatchHub.publish; watchers on random
// paths — some answered late, some resuming from a start revision after a
// dropped connection — rebuild their value from the snapshot and the events
// with applyChange, as the client does. After every event a watcher's copy
// must equal getAt(document at that revision, path); no revision that changed
// the value may be missing; none may come twice or out of order; nothing may
// arrive before the answer.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_LIMITS, ProtocolError, WatchEventSchema, getAt, type WriteOp } from '../../protocol/index.js';
import { ABSENT, applyChange, type View, type ViewChange } from '../../client/watch-view.js';
import type { CommittedRevision } from '../../sidecar/store/commit-queue.js';
import { History } from '../../sidecar/store/history.js';
import { applyOps, initialState, type StoreState } from '../../sidecar/store/store-state.js';
import { WatchHub, type WatchSink } from '../../sidecar/watch/watch-hub.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';
import { jsonObject, jsonValue } from '../fixtures/json-values.js';

const EPOCH = 'model-epoch';

// A small alphabet, so that paths keep meeting existing keys, array indexes and each other.
const keys = fc.constantFrom('a', 'b', '0', '1');
const segment = fc.constantFrom('a', 'b', '0', '1');
const path = fc.array(segment, { maxLength: 3 });
const value = jsonValue({ key: keys, maxDepth: 3, maxLength: 3, string: fc.constantFrom('x', 'y') });
const writeOp: fc.Arbitrary<WriteOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), path, value }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path }) },
);

type Step =
  | { kind: 'flush'; batches: WriteOp[][] }
  | { kind: 'watch'; path: string[]; late: boolean }
  | { kind: 'drop'; which: number }
  | { kind: 'resume'; which: number; late: boolean; otherEpoch: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('flush' as const), batches: fc.array(fc.array(writeOp, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('watch' as const), path, late: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resume' as const), which: fc.nat(), late: fc.boolean(), otherEpoch: fc.constantFrom(false, false, false, true) }) },
);

const viewOf = (doc: unknown, segments: readonly string[]): View => {
  const value = getAt(doc, segments);
  return value === undefined ? ABSENT : { exists: true, value };
};

/** One watcher as the client keeps it, plus what the test needs to judge it. */
interface ModelWatcher {
  segments: string[];
  sink: WatchSink & { messages: Record<string, unknown>[] };
  watchId: number;
  /** Not yet activated: its answer has "not been sent". */
  activate: (() => void) | undefined;
  view: View;
  lastRevision: number;
  /** The revision from which every change must have arrived as an event. */
  responsibleFrom: number;
  eventRevisions: Set<number>;
  read: number;
  /** Its connection dropped: the sidecar forgot the watch; the client waits to resume it. */
  dropped: boolean;
  /** Resumed without a resync: the events it gets first come from the history. */
  replaying?: boolean;
}

/** How often the interesting cases came up, so the property cannot pass by never reaching them. */
const coverage = { replayedEvents: 0, compacted: 0, epoch: 0, lateEvents: 0, events: 0 };

function run(initial: Record<string, unknown>, minEntries: number, steps: Step[]): void {
  let committed: StoreState = initialState(deepFreeze(initial), 1);
  const docs = new Map<number, unknown>([[1, committed.doc]]);
  const history = new History(1, { minEntries, minAgeMs: 0, maxBytes: Number.MAX_SAFE_INTEGER });
  const hub = new WatchHub(EPOCH, history, () => committed, { maxWatchesPerConnection: 1000, maxWatchPathBytes: DEFAULT_LIMITS.maxWatchPathBytes, maxDepth: DEFAULT_LIMITS.maxDepth }, 3_600_000);
  const watchers: ModelWatcher[] = [];

  const open = (watcher: ModelWatcher, request: Parameters<WatchHub['create']>[1], late: boolean) => {
    const { result, activate } = hub.create(watcher.sink, request);
    watcher.watchId = result.watchId as number;
    if (result.resync === 'compacted') coverage.compacted++;
    if (result.resync === 'epoch') coverage.epoch++;
    if (request.startRevision !== undefined && result.resync === undefined) watcher.replaying = true;
    const snapshot = result.snapshot as { value: unknown; exists: boolean } | undefined;
    if (snapshot !== undefined) {
      // A fresh watch, or a resume the sidecar could not replay: start over from the snapshot at the answer's revision.
      watcher.view = snapshot.exists ? { exists: true, value: snapshot.value } : ABSENT;
      assert.deepEqual(watcher.view, viewOf(committed.doc, watcher.segments), 'the snapshot is the committed value');
      assert.equal(result.revision, committed.revision);
      watcher.lastRevision = result.revision as number;
      watcher.responsibleFrom = result.revision as number;
    } else {
      assert.equal(request.startRevision, watcher.lastRevision + 1, 'a resume without a snapshot replays');
    }
    if (late) watcher.activate = activate;
    else activate();
  };

  /** What the client does with the messages that arrived, and the checks of each. */
  const consume = (watcher: ModelWatcher) => {
    if (watcher.dropped) {
      assert.equal(watcher.sink.messages.length, 0, 'a removed watch hears nothing');
      return;
    }
    if (watcher.activate !== undefined) {
      assert.equal(watcher.sink.messages.length, watcher.read, 'nothing may arrive before the answer is sent');
      return;
    }
    for (; watcher.read < watcher.sink.messages.length; watcher.read++) {
      const event = WatchEventSchema.parse(watcher.sink.messages[watcher.read]);
      assert.equal(event.watchId, watcher.watchId);
      assert.ok(event.revision > watcher.lastRevision, `revision ${event.revision} after ${watcher.lastRevision}: in order, none twice`);
      assert.ok(event.revision <= committed.revision, 'only committed revisions');
      assert.ok(event.changes.length > 0, 'an event has changes');
      for (const change of event.changes) {
        assert.deepEqual(change.path.slice(0, watcher.segments.length), watcher.segments, 'every change lies under the watched path');
        watcher.view = applyChange(watcher.view, watcher.segments, change as ViewChange);
      }
      watcher.lastRevision = event.revision;
      watcher.eventRevisions.add(event.revision);
      coverage.events++;
      if (watcher.replaying === true) coverage.replayedEvents++;
      assert.deepEqual(
        watcher.view,
        viewOf(docs.get(event.revision), watcher.segments),
        `watcher of ${JSON.stringify(watcher.segments)} after revision ${event.revision}`,
      );
    }
    watcher.replaying = false;
    // Nothing missed: every revision since the watcher became responsible that changed its value has an event.
    for (let r = watcher.responsibleFrom + 1; r <= committed.revision; r++) {
      const changed = !isDeepStrictEqual(viewOf(docs.get(r - 1), watcher.segments), viewOf(docs.get(r), watcher.segments));
      if (changed) assert.ok(watcher.eventRevisions.has(r), `revision ${r} changed ${JSON.stringify(watcher.segments)} but sent no event`);
    }
    assert.deepEqual(watcher.view, viewOf(committed.doc, watcher.segments), 'caught up with the committed state');
  };

  try {
    for (const s of steps) {
      let resumed: ModelWatcher | undefined;
      if (s.kind === 'flush') {
        // The commit queue applies each write to the working copy at once (a refused one is not queued),
        // then commits the flush's revisions together.
        let working = committed;
        const revisions: CommittedRevision[] = [];
        for (const ops of s.batches) {
          try {
            const applied = applyOps(working, ops);
            if (applied.unchanged) continue; // as the queue: a write that changes nothing makes no revision
            working = applied.state;
            deepFreeze(working.doc);
            revisions.push({ revision: working.revision, source: 'client', changes: applied.changes, bytes: 16 });
            docs.set(working.revision, working.doc);
          } catch (error) {
            if (!(error instanceof ProtocolError)) throw error;
          }
        }
        committed = working;
        history.append(revisions);
        hub.publish(revisions);
      } else if (s.kind === 'watch') {
        const watcher: ModelWatcher = {
          segments: s.path,
          sink: { messages: [], push(message) { this.messages.push(message); } },
          watchId: 0,
          activate: undefined,
          view: ABSENT,
          lastRevision: 0,
          responsibleFrom: 0,
          eventRevisions: new Set(),
          read: 0,
          dropped: false,
        };
        watchers.push(watcher);
        open(watcher, { path: s.path, initial: 'snapshot' }, s.late);
      } else if (s.kind === 'drop') {
        // The connection dropped: the sidecar removes its watches; what the client had read stays.
        const live = watchers.filter((w) => !w.dropped && w.activate === undefined);
        const watcher = live[s.which % Math.max(1, live.length)];
        if (watcher !== undefined) {
          consume(watcher);
          hub.removeAll(watcher.sink);
          watcher.sink.messages.length = 0;
          watcher.read = 0;
          watcher.dropped = true;
        }
      } else {
        // Reconnected: resume from the revision after the last one seen, in the epoch it belongs to.
        const dropped = watchers.filter((w) => w.dropped);
        const watcher = dropped[s.which % Math.max(1, dropped.length)];
        if (watcher !== undefined) {
          watcher.dropped = false;
          const epoch = s.otherEpoch ? 'another-epoch' : EPOCH;
          open(watcher, { path: watcher.segments, startRevision: watcher.lastRevision + 1, epoch, initial: 'none' }, s.late);
          resumed = watcher;
        }
      }
      // Answers that were pending go out now (the session's next turn), then each client reads.
      for (const watcher of watchers) {
        if (s.kind === 'watch' && watcher === watchers.at(-1)) continue; // answered at the next step
        if (watcher === resumed) continue;
        const activate = watcher.activate;
        watcher.activate = undefined;
        const before = watcher.sink.messages.length;
        activate?.();
        if (watcher.sink.messages.length > before) coverage.lateEvents++;
      }
      for (const watcher of watchers) consume(watcher);
    }
  } finally {
    hub.close();
  }
}

test('every watcher\'s copy, rebuilt from snapshot + events, equals the committed value at its path after every event', () => {
  const document = jsonObject({ key: keys, maxDepth: 3, maxLength: 3, string: fc.constantFrom('x', 'y') });
  // A history that keeps almost nothing (resumes resync) or everything (resumes replay).
  const minEntries = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(1000));
  const steps = fc.array(step, { minLength: 10, maxLength: 40, size: 'max' });
  fc.assert(
    fc.property(document, minEntries, steps, (doc, keep, list) => run(doc, keep, list)),
    { numRuns: 400 },
  );
  for (const [what, count] of Object.entries(coverage)) assert.ok(count >= 20, `the generated runs reached ${what} only ${count} times`);
});

test('a watcher on every path of a fixed scenario sees arrays replaced whole and values above it as its own', () => {
  run({ list: [{ n: 1 }, 'b'], m: { k: 1 } }, 100, [
    ...[[], ['list'], ['list', '0'], ['list', '0', 'n'], ['list', '1'], ['list', '2'], ['m', 'k'], ['m', 'k', 'z']].map((p) => ({ kind: 'watch' as const, path: p, late: false })),
    { kind: 'flush', batches: [[{ op: 'set', path: ['list', '0', 'n'], value: 2 }], [{ op: 'delete', path: ['list', '0'] }], [{ op: 'set', path: ['list', '1'], value: 'c' }]] },
    { kind: 'flush', batches: [[{ op: 'set', path: ['m'], value: { k: { z: true } } }, { op: 'delete', path: ['m', 'k', 'z'] }]] },
    { kind: 'flush', batches: [[{ op: 'delete', path: [] }], [{ op: 'set', path: [], value: { list: [] } }]] },
    { kind: 'drop', which: 2 },
    { kind: 'flush', batches: [[{ op: 'set', path: ['list', '0'], value: { n: 5 } }], [{ op: 'set', path: ['list', '0', 'n'], value: 6 }]] },
    { kind: 'resume', which: 2, late: true, otherEpoch: false },
    { kind: 'flush', batches: [[{ op: 'set', path: ['list', '0'], value: { n: 7 } }]] },
  ]);
});
