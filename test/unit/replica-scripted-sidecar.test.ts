// Read-your-writes when the replica's watch is not live as the write's answer
// arrives (a reconnect is re-establishing it): against a scripted sidecar that
// holds the watch answer back, a set stays pending until the copy has the
// write's revision, and once its deadline passes it resolves and reads throw
// STALE until the copy catches up, never serving the older value as current.
// A replica whose watch is refused fails synced() with the reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { EPOCH, ScriptedSidecar, usualAnswer, type ScriptedConnection } from '../helpers/scripted-sidecar.js';
import { testPaths } from '../helpers/temp-dir.js';

/** Lets every answer already received be handled, and everything it resolved run. */
function drained(client: { ping(): Promise<unknown> }): Promise<void> {
  return client.ping().then(() => new Promise((resolve) => setImmediate(resolve)));
}

async function setup(t: import('node:test').TestContext, setTimeoutMs: number) {
  const paths = await testPaths(t);
  const fake = await ScriptedSidecar.start(t, paths.socketPath);
  let watches = 0;
  fake.answer = (request) => {
    if (request.op === 'watch') {
      watches++;
      if (watches === 1) return { id: request.id, ok: true, epoch: EPOCH, revision: 1, watchId: 1, snapshot: { value: { k: 0 }, exists: true } };
      return 'hold'; // the resume after the reconnect: answered by the test
    }
    if (request.op === 'set') return { id: request.id, ok: true, epoch: EPOCH, revision: 5, results: [{ modRevision: 5, existed: true }] };
    return usualAnswer(request, undefined as unknown as ScriptedConnection);
  };
  const client = connect({ socketPath: paths.socketPath, replica: true, reconnect: { baseMs: 5, maxMs: 20 }, defaultTimeoutMs: setTimeoutMs });
  t.after(() => client.close());
  await client.synced();
  assert.equal(client.getSync('k'), 0);
  (await fake.connection(1)).destroy();
  const second = await fake.connection(2);
  const resume = await fake.request(second, 'watch');
  assert.equal(resume['startRevision'], 2, 'the watch resumes after revision 1');
  return { client, second, resume };
}

test('a set answered while the watch is being re-established resolves only once the copy has its revision', async (t) => {
  const { client, second, resume } = await setup(t, 10_000);
  let resolved = false;
  const setting = client.set('k', 5).then((result) => {
    resolved = true;
    return result;
  });
  await drained(client);
  assert.equal(resolved, false, 'the set waits for the copy');
  assert.equal(client.getSync('k'), 0, 'before the set resolves, the older value may be read');
  second.send({ id: resume.id, ok: true, epoch: EPOCH, revision: 5, watchId: 2 });
  second.send({ type: 'event', watchId: 2, revision: 5, source: 'client', changes: [{ path: ['k'], value: 5 }] });
  const { revision } = await setting;
  assert.equal(revision, 5);
  assert.equal(client.getSync('k'), 5);
  assert.equal(client.revision(), 5);
});

test('a set whose deadline passes before the copy catches up resolves, and reads throw STALE until it does', async (t) => {
  const { client, second, resume } = await setup(t, 200);
  await client.set('k', 5, { timeoutMs: 200 });
  assert.throws(() => client.getSync('k'), { code: 'STALE' });
  await assert.rejects(client.get('k'), { code: 'STALE' });
  second.send({ id: resume.id, ok: true, epoch: EPOCH, revision: 5, watchId: 2 });
  second.send({ type: 'event', watchId: 2, revision: 5, source: 'client', changes: [{ path: ['k'], value: 5 }] });
  await drained(client);
  assert.equal(client.getSync('k'), 5);
});

test('a replica whose watch the sidecar refuses rejects synced() with the reason, and its reads stay NOT_READY', async (t) => {
  const paths = await testPaths(t);
  const fake = await ScriptedSidecar.start(t, paths.socketPath);
  fake.answer = (request) =>
    request.op === 'watch'
      ? { id: request.id, ok: false, error: { code: 'LIMIT_EXCEEDED', message: 'more than maxWatchesPerConnection 256 watches on this connection' } }
      : usualAnswer(request, undefined as unknown as ScriptedConnection);
  const errors: Error[] = [];
  const client = connect({ socketPath: paths.socketPath, replica: true, onError: (error) => errors.push(error) });
  t.after(() => client.close());
  await assert.rejects(client.synced(), { code: 'LIMIT_EXCEEDED' });
  assert.throws(() => client.getSync('k'), { code: 'NOT_READY' });
  assert.equal(errors.length, 1, 'the refusal is also reported once');
});
