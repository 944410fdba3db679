// The client's local replica against a real sidecar: synchronous reads after
// the first snapshot, get() answered without a request (the sidecar's own
// request counters show it), read-your-writes against a concurrent writer, a
// frozen structurally shared `store`, prefix replicas, and a kill -9 restart:
// the last state is served meanwhile, STALE past maxStalenessMs, and the new
// epoch arrives as one resync. Random faults: test/chaos/replica-coherence.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type ConfigClient } from '../../client/index.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

/** Resolves once `predicate` holds, checked on every status event and every 5 ms (bounded). */
async function until(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function requestCount(stats: Record<string, unknown>, op: string): number {
  return ((stats['requests'] as Record<string, number>)[op] ?? 0) as number;
}

test('getSync throws NOT_READY before the first snapshot, then reads the document; get() needs no request unless fresh', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const writer = connect({ socketPath: paths.socketPath });
  t.after(() => writer.close());
  await writer.set('server', { port: 8080, host: 'a' });
  const config = connect({ socketPath: paths.socketPath, replica: true });
  t.after(() => config.close());
  assert.throws(() => config.getSync('server.port'), { code: 'NOT_READY' });
  assert.throws(() => config.store, { code: 'NOT_READY' });
  await config.synced();
  assert.equal(config.getSync('server.port'), 8080);
  assert.equal(config.hasSync('server.host'), true);
  assert.equal(config.hasSync('server.nope'), false);
  assert.equal(config.getSync('server.nope', 'fallback'), 'fallback');
  await writer.set('server.none', null);
  await until('the replica has the null', () => config.hasSync('server.none'));
  assert.equal(config.getSync('server.none', 'fallback'), null, 'a stored null is a value, not a miss');
  assert.equal(await config.get('server.none', { default: 'fallback' }), null);
  assert.ok(config.revision() >= 1);
  assert.equal(config.staleness(), 0);

  const before = requestCount(await writer.stats(), 'get');
  for (let i = 0; i < 50; i++) assert.equal(await config.get('server.port'), 8080);
  assert.equal(await config.get('server.absent', { default: 3 }), 3);
  assert.equal(requestCount(await writer.stats(), 'get'), before, 'replica gets sent no get request');
  assert.equal(await config.get('server.port', { fresh: true }), 8080);
  assert.equal(requestCount(await writer.stats(), 'get'), before + 1, 'a fresh get is a round trip');
});

test('read-your-writes: after set resolves with revision R, every read reflects R or later, while another client writes', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const other = connect({ socketPath: paths.socketPath });
  const config = connect({ socketPath: paths.socketPath, replica: true });
  t.after(() => Promise.all([other.close(), config.close()]));
  await config.synced();
  let stop = false;
  const noise = (async () => {
    for (let i = 0; !stop; i++) await other.set('noise', i);
  })();
  for (let i = 0; i < 200; i++) {
    const { revision } = await config.set(`mine.k${i % 5}`, i);
    assert.equal(config.getSync(`mine.k${i % 5}`), i, `write ${i}`);
    assert.ok(config.revision() >= revision, `replica at ${config.revision()} after a write acknowledged at ${revision}`);
  }
  await config.batch([{ op: 'set', path: 'mine.batch', value: 'b' }, { op: 'delete', path: 'mine.k0' }]);
  assert.equal(config.getSync('mine.batch'), 'b');
  assert.equal(config.hasSync('mine.k0'), false);
  stop = true;
  await noise;
});

test('store is frozen, replaced on each change, and shares unchanged subtrees; onDidChange is served by the replica', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const config = connect({ socketPath: paths.socketPath, replica: true });
  t.after(() => config.close());
  await config.set('a', { deep: { list: [1, 2, 3] } });
  await config.set('b', { x: 1 });
  const first = config.store;
  assert.ok(Object.isFrozen(first) && Object.isFrozen((first as Record<string, any>)['a'].deep.list));
  assert.throws(() => ((first as Record<string, any>)['b'].x = 2), TypeError);
  const seen: [unknown, unknown][] = [];
  const stop = config.onDidChange('b.x', (next, previous) => seen.push([next, previous]));
  await config.set('b.x', 2);
  const second = config.store as Record<string, any>;
  assert.notEqual(second, first);
  assert.equal(second['a'], (first as Record<string, any>)['a'], 'the untouched subtree is the same object');
  assert.equal(second['b'].x, 2);
  await config.set('a.deep.list.1', 9); // not under b.x: no call
  await config.set('b.x', 3);
  stop();
  await config.set('b.x', 4);
  assert.deepEqual(seen, [
    [2, 1],
    [3, 2],
  ]);
});

test('a prefix replica copies its subtree only: getSync elsewhere is NOT_REPLICATED, get() elsewhere asks the sidecar', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const config = connect({ socketPath: paths.socketPath, replica: 'app.ui' });
  t.after(() => config.close());
  await config.set('app.ui', { theme: 'dark' });
  await config.set('other', 1);
  await config.synced();
  assert.equal(config.getSync('app.ui.theme'), 'dark');
  assert.deepEqual(config.store, { theme: 'dark' });
  assert.throws(() => config.getSync('other'), { code: 'NOT_REPLICATED' });
  assert.equal(await config.get('other'), 1);
  const plain = connect({ socketPath: paths.socketPath });
  t.after(() => plain.close());
  assert.throws(() => plain.getSync('other'), { code: 'NOT_REPLICATED' });
});

test('kill -9 and restart: the replica serves the last state, STALE past maxStalenessMs, then resyncs in one event with no older read', async (t) => {
  const paths = await testPaths(t);
  let sidecar = await startSidecar(t, paths);
  const config: ConfigClient = connect({ socketPath: paths.socketPath, replica: true, maxStalenessMs: 100, reconnect: { baseMs: 10, maxMs: 50 } });
  const lax = connect({ socketPath: paths.socketPath, replica: true, reconnect: { baseMs: 10, maxMs: 50 } });
  t.after(() => Promise.all([config.close(), lax.close()]));
  for (let i = 0; i < 20; i++) await config.set(`k${i}`, i);
  await lax.synced();
  await until('lax replica at the last write', () => lax.getSync('k19') === 19);
  const revisionBefore = lax.revision();
  const resyncs: unknown[] = [];
  lax.onDidChange('k0', (next) => resyncs.push(next));
  await fileCaughtUp(config); // the hand edit below is made to the file holding every write, as an editor would see it
  await sidecar.kill9();
  await until('the replica notices the loss', () => lax.staleness() > 0);
  assert.equal(lax.getSync('k19'), 19, 'the last state is served while disconnected');
  await until('STALE past maxStalenessMs', () => {
    try {
      config.getSync('k1');
      return false;
    } catch (error) {
      return (error as { code?: string }).code === 'STALE';
    }
  });
  // A different document under the restarted sidecar: a hand edit while it was down.
  const { writeFile } = await import('node:fs/promises');
  await writeFile(paths.configPath, JSON.stringify({ k0: 'edited', k19: 19 }));
  sidecar = await startSidecar(t, paths);
  await until('the replica resynced', () => lax.staleness() === 0 && lax.getSync('k0') === 'edited');
  assert.ok(lax.revision() > revisionBefore, `revision ${lax.revision()} after ${revisionBefore}: the edit made a newer one`);
  assert.equal(lax.hasSync('k5'), false, 'keys gone from the file are gone from the copy');
  assert.deepEqual(resyncs, ['edited'], 'one change for the resync');
  await until('the strict replica is fresh again', () => config.staleness() === 0);
  assert.equal(config.getSync('k0'), 'edited');
});

test('a write that changes nothing, acknowledged at a revision of another path, settles a prefix replica at once', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const other = connect({ socketPath: paths.socketPath });
  const config = connect({ socketPath: paths.socketPath, replica: 'app' });
  t.after(() => Promise.all([other.close(), config.close()]));
  await config.set('app.x', 1);
  const { revision: elsewhere } = await other.set('other', 1); // no event for the replica's watch
  // Acknowledged at the current revision, which did not touch `app`: without a barrier the write
  // would wait for its deadline and leave the replica refusing reads (STALE).
  const { revision } = await config.set('app.x', 1, { timeoutMs: 2000 });
  assert.ok(revision >= elsewhere);
  assert.equal(config.getSync('app.x'), 1);
  assert.ok(config.revision() >= revision, `replica at ${config.revision()} after an acknowledgement at ${revision}`);
});
