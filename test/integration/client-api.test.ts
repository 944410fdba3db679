// The API users of conf, ioredis / nats.js and etcd3 reach for, against a real
// sidecar: onDidChange(newValue, oldValue), watch with prevValues, a signal
// and a startRevision, has / get with a default.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type ChangeEvent } from '../../client/index.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

async function client(t: import('node:test').TestContext) {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const config = connect({ socketPath: paths.socketPath });
  t.after(() => config.close());
  return config;
}

/** Resolves when `listener` has been called `n` times (bounded). */
function calls<A extends unknown[]>(n: number, timeoutMs = 10_000) {
  const seen: A[] = [];
  let done!: () => void;
  const reached = new Promise<void>((resolve, reject) => {
    done = resolve;
    setTimeout(() => reject(new Error(`${seen.length} of ${n} calls within ${timeoutMs} ms`)), timeoutMs).unref();
  });
  return {
    seen,
    reached,
    listener: (...args: A) => {
      seen.push(args);
      if (seen.length === n) done();
    },
  };
}

test('onDidChange gets (newValue, oldValue) for each change, not the value now; its return stops it', async (t) => {
  const config = await client(t);
  await config.set('server.port', 1);
  const changes = calls<[unknown, unknown]>(3);
  const stop = config.onDidChange('server.port', changes.listener);
  await config.ping(); // requests go out in call order: the watch is in place before this answer
  await config.set('server.port', 2);
  await config.set('server', { port: 3, host: 'h' });
  await config.delete('server');
  await changes.reached;
  assert.deepEqual(changes.seen, [
    [2, 1],
    [3, 2],
    [undefined, 3],
  ]);
  stop();
  await config.set('server.port', 4);
  await config.ping();
  assert.equal(changes.seen.length, 3);
});

test('watch: prevValues on each change, a signal that ends it, a startRevision that replays', async (t) => {
  const config = await client(t);
  const { revision: start } = await config.set('a', { x: 1, y: 1 });
  await config.set('a.x', 2);
  await config.delete('a.y');

  const controller = new AbortController();
  const replayed: ChangeEvent[] = [];
  for await (const event of config.watch('a', { startRevision: start, prevValues: true, signal: controller.signal })) {
    replayed.push(event);
    if (replayed.length === 3) {
      void config.set('a.x', 3); // a live change after the replay carries its previous value
    }
    if (replayed.length === 4) controller.abort();
  }
  assert.deepEqual(
    replayed.map((event) => event.changes),
    [
      [{ path: ['a'], value: { x: 1, y: 1 } }],
      [{ path: ['a', 'x'], value: 2 }],
      [{ path: ['a', 'y'], deleted: true }],
      [{ path: ['a', 'x'], value: 3, prevValue: 2 }],
    ],
  );
  assert.deepEqual(replayed.map((event) => event.revision), [start, start + 1, start + 2, start + 3]);
});

test('has, and get with a default', async (t) => {
  const config = await client(t);
  await config.set('flags.beta', false);
  assert.equal(await config.has('flags.beta'), true);
  assert.equal(await config.has('flags.gamma'), false);
  assert.equal(await config.get('flags.beta', { default: true }), false, 'a stored false is a value');
  assert.equal(await config.get('flags.gamma', { default: true }), true);
});

test('a set of the value already there is acknowledged at the current revision, with no new revision and no event', async (t) => {
  const config = await client(t);
  const first = await config.set('server', { port: 1, tags: ['a'] });
  const events: ChangeEvent[] = [];
  const stream = config.watch('server', { initial: 'none' });
  const reader = (async () => {
    for await (const event of stream) events.push(event);
  })();
  await config.ping(); // the watch is in place
  const same = await config.set('server', { tags: ['a'], port: 1 }); // key order does not matter
  assert.equal(same.revision, first.revision);
  assert.deepEqual(same.results, [{ modRevision: first.revision, existed: true }]);
  assert.equal((await config.delete('nothing.here')).revision, first.revision, 'a delete of nothing makes no revision either');
  const next = await config.set('server.port', 2);
  assert.equal(next.revision, first.revision + 1);
  await config.ping();
  stream.close();
  await reader;
  assert.deepEqual(events.map((event) => event.revision), [next.revision], 'the only event is the real change');
});

test('guards on any path: all must hold, else CONFLICT naming the path that failed; ifModRevision stays the shorthand', async (t) => {
  const config = await client(t);
  await config.set('server', { port: 1, host: 'a' });
  const { modRevision } = await config.getEntry('server');

  const written = await config.set('server.host', 'b', { if: [{ path: 'server', modRevision }] });
  const stale = await config.set('server.port', 2, { if: [{ path: 'server', modRevision }] }).catch((error: unknown) => error);
  assert.equal((stale as { code: string }).code, 'CONFLICT');
  assert.deepEqual((stale as { details: unknown }).details, { path: 'server', expected: modRevision, modRevision: written.revision });
  assert.equal(await config.get('server.port'), 1, 'nothing was applied');

  // Every guard must hold: the second one names its own path.
  const second = await config
    .batch([{ op: 'set', path: 'a', value: 1 }], { if: [{ path: 'server', modRevision: written.revision }, { path: 'missing', modRevision: 5 }] })
    .catch((error: unknown) => error);
  assert.match((second as Error).message, /^missing has modRevision 0, not 5/);
  assert.equal(await config.has('a'), false);
  await config.delete('server', { if: [{ path: 'server.host', modRevision: written.revision }, { path: 'missing', modRevision: 0 }] });
  assert.equal(await config.has('server'), false);
});

test('calls go out in the order they were made: of writes not awaited, the last one made wins (before and after connecting)', async (t) => {
  const config = await client(t);
  // A batch of several sets, then single writes to the same keys, made at once.
  const burst = (round: number) => [
    config.batch([
      { op: 'set', path: 'n', value: `b${round}` },
      { op: 'set', path: 'm', value: `b${round}` },
      { op: 'set', path: 'k', value: `b${round}` },
    ]),
    config.set('n', round),
    config.delete('m'),
    config.set('m', round),
  ];
  // Before the connection is up the calls wait in the queue; then each round goes out at once.
  await Promise.all(burst(0));
  assert.deepEqual(await config.get(''), { n: 0, m: 0, k: 'b0' });
  for (let round = 1; round <= 20; round++) {
    await Promise.all(burst(round));
    assert.deepEqual(await config.get(''), { n: round, m: round, k: `b${round}` }, `round ${round}`);
  }
});
