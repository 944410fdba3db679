// WatchManager, the client side of watches, over a fake transport: the first
// answer's snapshot becomes the watcher's copy; events are applied in order,
// none twice; after a reconnect the watch resumes from the revision after the
// last one seen (progress included) in the same epoch; a resync answer is
// turned into exactly the difference, flagged resync; and events that arrive
// in the same socket read as the answer are not lost.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigSidecarError } from '../../client/client-errors.js';
import type { View } from '../../client/watch-view.js';
import { WatchManager, type ChangeEvent, type WatchOptions, type WatchTransport } from '../../client/watches.js';
import { WatchResultSchema, type ResultOf, type WatchEvent, type WireChange } from '../../protocol/index.js';

const EPOCH = 'e1';

interface Pending {
  request: Record<string, unknown>;
  resolve(response: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** A connection the test drives: it sees each request and answers when told. */
class FakeTransport implements WatchTransport {
  connected = true;
  readonly pending: Pending[] = [];
  readonly resynced: [string, number][] = [];
  watch(request: Record<string, unknown> & { op: 'watch' }): Promise<ResultOf<'watch'>> {
    return new Promise((resolve, reject) => this.pending.push({ request, resolve: (response) => resolve(WatchResultSchema.parse(response)), reject }));
  }
  /** Unwatch is fire-and-forget: it shows up as an answered request. */
  unwatch(watchId: number): void {
    this.pending.push({ request: { op: 'unwatch', watchId }, resolve: () => undefined, reject: () => undefined });
  }
  isConnected(): boolean {
    return this.connected;
  }
  onResynced(epoch: string, revision: number): void {
    this.resynced.push([epoch, revision]);
  }
  /** The oldest unanswered request. */
  take(): Pending {
    const next = this.pending.shift();
    assert.ok(next !== undefined, 'a request was sent');
    return next;
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function watching(path: string[], options: WatchOptions = {}) {
  const transport = new FakeTransport();
  const manager = new WatchManager(transport);
  const delivered: { event: ChangeEvent; view: View }[] = [];
  const failures: Error[] = [];
  const close = manager.open(path, options, (event, view) => delivered.push({ event, view }), (error) => failures.push(error));
  return { transport, manager, delivered, failures, close };
}

/** Answers the watch request with the result the sidecar sends. */
const answer = (pending: Pending, result: Record<string, unknown>) => pending.resolve({ epoch: EPOCH, ...result });
const event = (watchId: number, revision: number, changes: WireChange[]): WatchEvent => ({ type: 'event', watchId, revision, source: 'client', changes });

describe('WatchManager', () => {
  test('asks for a snapshot first and delivers it as the first event', async () => {
    const { transport, delivered } = watching(['server']);
    const created = transport.take();
    assert.deepEqual(created.request, { op: 'watch', path: ['server'], initial: 'snapshot' });
    answer(created, { revision: 7, watchId: 3, snapshot: { value: { port: 1 }, exists: true } });
    await settle();
    assert.deepEqual(delivered, [
      {
        event: { revision: 7, epoch: EPOCH, source: 'snapshot', changes: [{ path: ['server'], value: { port: 1 } }] },
        view: { exists: true, value: { port: 1 } },
      },
    ]);
  });

  test('initial "none": the snapshot is still taken (resyncs are diffed against it) but not delivered', async () => {
    const { transport, manager, delivered } = watching(['server'], { initial: 'none' });
    const created = transport.take();
    assert.equal(created.request.initial, 'snapshot');
    answer(created, { revision: 7, watchId: 3, snapshot: { value: { port: 1 }, exists: true } });
    await settle();
    assert.equal(delivered.length, 0);
    manager.onPush(event(3, 8, [{ path: ['server', 'tls'], value: true }]));
    assert.deepEqual(delivered[0]!.view, { exists: true, value: { port: 1, tls: true } }, 'applied on top of the snapshot');
  });

  test('a path that does not exist yet: a first event with no changes says the watch is in place; then the first change', async () => {
    const { transport, manager, delivered } = watching(['server']);
    answer(transport.take(), { revision: 7, watchId: 3, snapshot: { value: null, exists: false } });
    await settle();
    assert.deepEqual(delivered.map((d) => d.event), [{ revision: 7, epoch: EPOCH, source: 'snapshot', changes: [] }]);
    manager.onPush(event(3, 9, [{ path: ['server', 'port'], value: 1 }]));
    assert.deepEqual(delivered.map((d) => d.view), [{ exists: false }, { exists: true, value: { port: 1 } }]);
  });

  test('events are applied in order; a revision already seen is not delivered again; other watch ids are ignored', async () => {
    const { transport, manager, delivered } = watching(['a']);
    answer(transport.take(), { revision: 1, watchId: 5, snapshot: { value: 0, exists: true } });
    await settle();
    manager.onPush(event(5, 2, [{ path: ['a'], value: 1 }]));
    manager.onPush(event(5, 2, [{ path: ['a'], value: 1 }]));
    manager.onPush(event(5, 1, [{ path: ['a'], value: -1 }]));
    manager.onPush(event(6, 3, [{ path: ['a'], value: 9 }]));
    assert.deepEqual(
      delivered.map((d) => [d.event.revision, d.view]),
      [
        [1, { exists: true, value: 0 }],
        [2, { exists: true, value: 1 }],
      ],
    );
  });

  test('after a reconnect: resumes from the revision after the last event, in its epoch, without a snapshot', async () => {
    const { transport, manager } = watching(['a']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: 0, exists: true } });
    await settle();
    manager.onPush(event(5, 6, [{ path: ['a'], value: 1 }]));
    manager.onDisconnected();
    manager.onPush(event(5, 7, [{ path: ['a'], value: 2 }])); // the old watch id means nothing any more
    manager.onConnected();
    assert.deepEqual(transport.take().request, { op: 'watch', path: ['a'], startRevision: 7, epoch: EPOCH, initial: 'none' });
  });

  test('a progress bookmark moves the resume point past revisions that did not touch the path', async () => {
    const { transport, manager } = watching(['a']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: 0, exists: true } });
    await settle();
    manager.onPush({ type: 'progress', watchId: 5, revision: 40 });
    manager.onPush({ type: 'progress', watchId: 5, revision: 30 }); // older: no effect
    manager.onDisconnected();
    manager.onConnected();
    assert.equal(transport.take().request.startRevision, 41);
  });

  test('a resync answer becomes one event with exactly the difference, flagged resync, and a resynced status', async () => {
    const { transport, manager, delivered } = watching(['s']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: { keep: 1, gone: 2, edit: { x: 1 } }, exists: true } });
    await settle();
    manager.onDisconnected();
    manager.onConnected();
    answer(transport.take(), { epoch: 'e2', revision: 2, watchId: 1, snapshot: { value: { keep: 1, edit: { x: 2 }, added: true }, exists: true }, resync: 'epoch' });
    await settle();
    assert.deepEqual(delivered[1], {
      event: {
        revision: 2,
        epoch: 'e2',
        source: 'resync',
        resync: true,
        changes: [
          { path: ['s', 'gone'], deleted: true },
          { path: ['s', 'edit', 'x'], value: 2 },
          { path: ['s', 'added'], value: true },
        ],
      },
      view: { exists: true, value: { keep: 1, edit: { x: 2 }, added: true } },
    });
    assert.deepEqual(transport.resynced, [['e2', 2]]);
    // The next resume is in the new epoch, after the resync's revision.
    manager.onDisconnected();
    manager.onConnected();
    assert.deepEqual(transport.take().request, { op: 'watch', path: ['s'], startRevision: 3, epoch: 'e2', initial: 'none' });
  });

  test('a resync that finds nothing changed still delivers a resync event, with no changes, at the new position', async () => {
    const { transport, manager, delivered } = watching(['s']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: 1, exists: true } });
    await settle();
    manager.onDisconnected();
    manager.onConnected();
    answer(transport.take(), { epoch: 'e2', revision: 1, watchId: 6, snapshot: { value: 1, exists: true }, resync: 'epoch' });
    await settle();
    // The revision numbering restarted with the epoch: the watcher must learn where it now stands.
    assert.deepEqual(delivered[1]!.event, { revision: 1, epoch: 'e2', source: 'resync', resync: true, changes: [] });
    assert.deepEqual(transport.resynced, [['e2', 1]]);
  });

  test('close sends unwatch for the sidecar\'s watch id and later events are ignored', async () => {
    const { transport, manager, delivered, close } = watching(['a']);
    answer(transport.take(), { revision: 1, watchId: 5, snapshot: { value: 0, exists: true } });
    await settle();
    close();
    assert.deepEqual(transport.take().request, { op: 'unwatch', watchId: 5 });
    manager.onPush(event(5, 2, [{ path: ['a'], value: 1 }]));
    assert.equal(delivered.length, 1);
  });

  test('a watch closed before its answer arrives is unwatched when the answer comes', async () => {
    const { transport, delivered, close } = watching(['a']);
    const created = transport.take();
    close();
    answer(created, { revision: 1, watchId: 5, snapshot: { value: 0, exists: true } });
    await settle();
    assert.deepEqual(transport.take().request, { op: 'unwatch', watchId: 5 });
    assert.deepEqual(delivered, []);
  });

  test('a watch the sidecar refuses fails once and is not retried', async () => {
    const { transport, manager, failures } = watching(['a']);
    transport.take().reject(new ConfigSidecarError('LIMIT_EXCEEDED', 'too many watches'));
    await settle();
    assert.equal(failures.length, 1);
    manager.onConnected();
    assert.equal(transport.pending.length, 0);
  });

  test('events that arrive after the answer has been processed are delivered', async () => {
    const { transport, manager, delivered } = watching(['a']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: 0, exists: true } });
    await settle();
    manager.onPush(event(5, 5, [{ path: ['a'], value: 1 }]));
    assert.equal(delivered.length, 2);
  });

  // A socket read can hold the answer and the events right behind it; client.ts hands them
  // over synchronously, before the code awaiting the answer runs.
  test('replayed events that arrive in the same read as a resumed watch\'s answer are delivered, after it', async () => {
    const { transport, manager, delivered } = watching(['a']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: 0, exists: true } });
    await settle();
    manager.onDisconnected();
    manager.onConnected();
    const resumed = transport.take();
    assert.equal(resumed.request.startRevision, 5);
    answer(resumed, { revision: 6, watchId: 9 });
    manager.onPush(event(9, 5, [{ path: ['a'], value: 1 }]));
    manager.onPush(event(9, 6, [{ path: ['a'], value: 2 }]));
    await settle();
    assert.deepEqual(
      delivered.map((d) => d.event.revision),
      [4, 5, 6],
    );
    assert.deepEqual(delivered.at(-1)!.view, { exists: true, value: 2 });
  });

  test('events right behind a new watch\'s answer come after its snapshot event', async () => {
    const { transport, manager, delivered } = watching(['a']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: 0, exists: true } });
    manager.onPush(event(5, 5, [{ path: ['a'], value: 1 }]));
    await settle();
    assert.deepEqual(
      delivered.map((d) => [d.event.source, d.event.revision, d.view]),
      [
        ['snapshot', 4, { exists: true, value: 0 }],
        ['client', 5, { exists: true, value: 1 }],
      ],
    );
  });

  test('events right behind a resync answer come after the resync event', async () => {
    const { transport, manager, delivered } = watching(['a']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: 0, exists: true } });
    await settle();
    manager.onDisconnected();
    manager.onConnected();
    answer(transport.take(), { revision: 20, watchId: 9, snapshot: { value: 7, exists: true }, resync: 'compacted' });
    manager.onPush(event(9, 21, [{ path: ['a'], value: 8 }]));
    await settle();
    assert.deepEqual(
      delivered.map((d) => [d.event.source, d.event.revision, d.view]),
      [
        ['snapshot', 4, { exists: true, value: 0 }],
        ['resync', 20, { exists: true, value: 7 }],
        ['client', 21, { exists: true, value: 8 }],
      ],
    );
  });

  test('a progress bookmark right behind an answer still counts', async () => {
    const { transport, manager } = watching(['a']);
    answer(transport.take(), { revision: 4, watchId: 5, snapshot: { value: 0, exists: true } });
    manager.onPush({ type: 'progress', watchId: 5, revision: 12 });
    await settle();
    manager.onDisconnected();
    manager.onConnected();
    assert.equal(transport.take().request.startRevision, 13);
  });

  test('held-back events of a watch that was closed meanwhile are dropped, not delivered', async () => {
    const { transport, manager, delivered, close } = watching(['a']);
    const created = transport.take();
    close();
    answer(created, { revision: 4, watchId: 5, snapshot: { value: 0, exists: true } });
    manager.onPush(event(5, 5, [{ path: ['a'], value: 1 }]));
    await settle();
    assert.equal(delivered.length, 0);
    assert.deepEqual(transport.take().request, { op: 'unwatch', watchId: 5 });
  });
});
