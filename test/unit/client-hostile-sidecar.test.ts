// The client against a scripted fake sidecar on a real socket: whatever it
// sends (malformed pushes and results, connection errors, half a frame),
// however it stalls, the host process sees no exception: the link is dropped
// and re-dialled, the reason reaches the 'status' event, calls settle once,
// and a watch whose request timed out on a live connection is asked for again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type ConfigClient, type StatusEvent } from '../../client/index.js';
import { encodeFrame } from '../../protocol/index.js';
import { EPOCH, ScriptedSidecar, usualAnswer } from '../helpers/scripted-sidecar.js';
import { testPaths } from '../helpers/temp-dir.js';

/** The first status event matching `match`, waited for with a bound. */
function statusWhere(client: ConfigClient, match: (event: StatusEvent) => boolean, timeoutMs = 10_000): Promise<StatusEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching status within ${timeoutMs} ms`)), timeoutMs);
    const listener = (event: StatusEvent) => {
      if (!match(event)) return;
      clearTimeout(timer);
      client.off('status', listener);
      resolve(event);
    };
    client.on('status', listener);
  });
}

async function setup(t: import('node:test').TestContext) {
  const paths = await testPaths(t);
  const fake = await ScriptedSidecar.start(t, paths.socketPath);
  const client = connect({ socketPath: paths.socketPath, reconnect: { baseMs: 5, maxMs: 20 } });
  t.after(() => client.close());
  return { fake, client, paths };
}

test('a malformed watch event drops the link, the client re-dials, and the watch resumes', async (t) => {
  const { fake, client } = await setup(t);
  const events: number[] = [];
  client.watch('a', (event) => events.push(event.revision));
  const first = await fake.connection(1);
  await fake.request(first, 'watch');
  const dropped = statusWhere(client, (event) => event.type === 'disconnected');
  first.send({ type: 'event', watchId: 'one', revision: 2, source: 'client', changes: [] });
  const status = await dropped;
  assert.match((status as { error: string }).error, /malformed message from sidecar: watch event\.watchId: expected an integer/);
  const second = await fake.connection(2);
  const resumed = await fake.request(second, 'watch');
  assert.equal(resumed.startRevision, 2, 'resumed after the snapshot it had');
  assert.deepEqual(events, [1]);
});

test('a result that does not match its op fails that call with PROTOCOL and drops the link; a retried read succeeds', async (t) => {
  const { fake, client } = await setup(t);
  let gets = 0;
  fake.answer = (request, connection) =>
    request.op === 'get' && ++gets === 1 ? { id: request.id, ok: true, value: 1 } : usualAnswer(request, connection);
  await assert.rejects(client.get('a'), { code: 'PROTOCOL', message: /answer to get is malformed: get result\.epoch: missing/ });
  await fake.connection(2);
  assert.equal(await client.get('a'), 'v');
});

test("a connection error after hello reaches the 'status' event with the sidecar's reason", async (t) => {
  const { fake, client } = await setup(t);
  const first = await fake.connection(1);
  await client.ready();
  const dropped = statusWhere(client, (event) => event.type === 'disconnected');
  first.send({ type: 'error', error: { code: 'PROTOCOL', message: 'partial frame idle for 10000 ms (partialFrameIdleMs)' } });
  assert.deepEqual(await dropped, { type: 'disconnected', error: 'PROTOCOL: partial frame idle for 10000 ms (partialFrameIdleMs)' });
  await fake.connection(2);
});

test('half a frame then a closed socket: the read in flight is retried on the next connection', async (t) => {
  const { fake, client } = await setup(t);
  const first = await fake.connection(1);
  await client.ready();
  fake.answer = (request, connection) => {
    if (connection !== first) return usualAnswer(request, connection);
    const frame = encodeFrame(Buffer.from([0x81, 0xa2, 0x69, 0x64, 0x01]));
    connection.sendBytes(frame.subarray(0, 5));
    connection.destroy();
    return 'hold';
  };
  assert.equal(await client.get('a'), 'v');
  assert.equal(fake.connections.length, 2);
});

test('a watch whose request timed out on a live connection is asked for again on it', async (t) => {
  const { fake, client } = await setup(t);
  let watches = 0;
  fake.answer = (request, connection) => (request.op === 'watch' && ++watches === 1 ? 'hold' : usualAnswer(request, connection));
  const stream = client.watch('a', { timeoutMs: 200 });
  t.after(() => stream.close());
  const first = (await stream.next()).value!;
  assert.equal(first.source, 'snapshot');
  assert.equal(fake.connections.length, 1, 'on the same connection');
  assert.equal(fake.connections[0]!.requests.filter((request) => request.op === 'watch').length, 2);
});

test("errors thrown by watch callbacks go to the 'error' event; with no listener they are logged once and the app runs on", async (t) => {
  const { fake, client } = await setup(t);
  const errors: Error[] = [];
  client.on('error', (error) => errors.push(error));
  client.watch('a', () => {
    throw new Error('callback bug');
  });
  const connection = await fake.connection(1);
  await fake.request(connection, 'watch');
  connection.send({ type: 'event', watchId: 1, revision: 2, source: 'client', changes: [{ path: ['a'], value: 'w' }] });
  await client.ping(); // the event was handled before the ping's answer
  assert.deepEqual(errors.map((error) => error.message), ['callback bug', 'callback bug']);

  client.removeAllListeners('error');
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  connection.send({ type: 'event', watchId: 1, revision: 3, source: 'client', changes: [{ path: ['a'], value: 'x' }] });
  connection.send({ type: 'event', watchId: 1, revision: 4, source: 'client', changes: [{ path: ['a'], value: 'y' }] });
  await client.ping();
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  assert.equal(warnings.filter((warning) => /callback bug/.test(warning.message)).length, 1, 'logged once');
});

test('status() starts with the state now; reconnect maxAttempts ends in closed with the last error', async (t) => {
  const { fake, client, paths } = await setup(t);
  await client.ready();
  const iterator = client.status();
  assert.deepEqual((await iterator.next()).value, { type: 'connected', epoch: EPOCH, revision: 1 });
  await iterator.return(undefined);

  await fake.stop();
  const giving = connect({ socketPath: paths.socketPath, reconnect: { baseMs: 1, maxMs: 2, maxAttempts: 2 } });
  const seen: StatusEvent[] = [];
  for await (const event of giving.status()) seen.push(event);
  const last = seen.at(-1)!;
  assert.equal(last.type, 'closed');
  assert.match((last as { error: string }).error, /gave up after 2 reconnect attempts: .*ENOENT|ECONNREFUSED/);
  assert.equal(seen.filter((event) => event.type === 'reconnecting').length, 2);
  await giving.closed;
  await assert.rejects(giving.get('a'), { code: 'CLOSED' });
});

test('close({ drain: true }) waits for a write in flight; await using closes the client', async (t) => {
  const { fake, client } = await setup(t);
  const connection = await fake.connection(1);
  fake.answer = (request, conn) => (request.op === 'set' ? 'hold' : usualAnswer(request, conn));
  const write = client.set('a', 1);
  const sent = await fake.request(connection, 'set');
  let closed = false;
  const closing = client.close({ drain: true }).then(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(closed, false, 'still draining');
  connection.send({ id: sent.id, ok: true, epoch: EPOCH, revision: 2, results: [{ modRevision: 2, existed: false }] });
  assert.equal((await write).revision, 2);
  await closing;
  assert.equal(client.state, 'closed');

  let disposed: ConfigClient | undefined;
  {
    await using scoped = connect({ socketPath: (await testPaths(t)).socketPath, reconnect: { maxAttempts: 0 } });
    disposed = scoped;
  }
  assert.equal(disposed.state, 'closed');
});
