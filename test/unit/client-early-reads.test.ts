// Reads queued before the first hello go out right behind it, before the
// sidecar has answered it (one round trip less for a one-shot `get`). Against
// a scripted sidecar on a real socket that holds its hello back, so what
// arrives early can be seen: only reads at the head of the queue, never past
// a write; a link lost before its hello is answered sends them again on the
// next one, and nothing goes early again until a hello is answered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { ScriptedSidecar, type ScriptedConnection } from '../helpers/scripted-sidecar.js';
import { testPaths } from '../helpers/temp-dir.js';

/** A gate for the fake's hellos, opened by the test. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Waits, with a bound, until `count` requests have arrived on `link` before its hello was answered. */
async function arrivedEarly(link: ScriptedConnection, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (link.beforeHello.length < count) {
    if (Date.now() > deadline) throw new Error(`${link.beforeHello.length} of ${count} early requests within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function setup(t: import('node:test').TestContext) {
  const paths = await testPaths(t);
  const fake = await ScriptedSidecar.start(t, paths.socketPath);
  const hello = gate();
  fake.helloGate = hello.promise;
  const client = connect({ socketPath: paths.socketPath, reconnect: { baseMs: 5, maxMs: 20 } });
  t.after(() => client.close());
  return { fake, client, hello };
}

test('reads queued before the first hello are sent behind it, before it is answered', async (t) => {
  const { fake, client, hello } = await setup(t);
  const answers = Promise.all([client.get('a'), client.info()]);
  const link = await fake.connection(1);
  await arrivedEarly(link, 2);
  assert.deepEqual(
    link.beforeHello.map((request) => request.op),
    ['get', 'info'],
  );
  hello.open();
  const [value] = await answers;
  assert.equal(value, 'v');
});

test('a write at the head of the queue holds back the reads behind it until hello is answered (a read never overtakes a write)', async (t) => {
  const { fake, client, hello } = await setup(t);
  const read = client.get('a');
  const write = client.set('a', 1);
  const readAfterWrite = client.get('a');
  const link = await fake.connection(1);
  await arrivedEarly(link, 1);
  // The first get went early; the set and the get behind it wait for the hello.
  assert.deepEqual(
    link.beforeHello.map((request) => request.op),
    ['get'],
  );
  hello.open();
  await Promise.all([read, write, readAfterWrite]);
  assert.deepEqual(
    link.requests.map((request) => request.op),
    ['get', 'set', 'get'],
  );
});

test('a link lost before its hello is answered: its early reads are sent again, after the next hello, and succeed', async (t) => {
  const { fake, client, hello } = await setup(t);
  const read = client.get('a');
  const first = await fake.connection(1);
  await arrivedEarly(first, 1);
  first.destroy();
  const second = await fake.connection(2);
  hello.open();
  assert.equal(await read, 'v');
  assert.deepEqual(second.beforeHello, [], 'nothing went early on the link after one was lost');
  assert.deepEqual(
    second.requests.map((request) => request.op),
    ['get'],
  );
});
