// Every limit of docs/protocol.md §4 at its boundary, on a real sidecar started with
// `serve --limit NAME=VALUE`: the limit itself passes, one more fails with
// LIMIT_EXCEEDED (FRAME_TOO_LARGE for the frame) naming the limit, hello
// reports the configured value, and the connection and sidecar stay usable.
// Small values keep every probe cheap; the defaults are the same code paths.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { connect, ConfigSidecarError, type ConfigClient } from '../../client/index.js';
import { DEFAULT_LIMITS, encodeFrame, encodeMessage, encodeValue, type Limits } from '../../protocol/index.js';
import { CLI } from '../helpers/paths.js';
import { rawConnect, type RawPeer } from '../helpers/raw-socket.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar, type SidecarProcess } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';
import { rejection } from '../helpers/rejection.js';

interface Served {
  paths: TestPaths;
  proc: SidecarProcess;
  limits: Limits;
}

/** A sidecar whose limits are the defaults overridden by `limits`, given on the command line. */
async function serveWith(t: TestContext, limits: Partial<Limits>): Promise<Served> {
  const paths = await testPaths(t);
  const extraArgs = Object.entries(limits).flatMap(([name, value]) => ['--limit', `${name}=${value}`]);
  const proc = await startSidecar(t, paths, { extraArgs });
  return { paths, proc, limits: { ...DEFAULT_LIMITS, ...limits } };
}

async function helloFrom(served: Served): Promise<RawPeer> {
  const peer = await rawConnect(served.paths.socketPath, { limits: served.limits });
  const hello = await peer.hello();
  assert.equal(hello.type, 'hello');
  assert.deepEqual(hello.limits, served.limits, 'hello reports the limits in force');
  return peer;
}

function clientOf(t: TestContext, served: Served): ConfigClient {
  // An explicit name: the default (the script path) could itself exceed a small maxStringBytes.
  const client = connect({ socketPath: served.paths.socketPath, name: 'limits-test', defaultTimeoutMs: 10_000 });
  t.after(() => client.close());
  return client;
}

interface WireErrorLike {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The error names the limit in its message and, where there is a measured amount, carries limit/max/actual. */
function assertLimitError(error: WireErrorLike | undefined, code: string, limit: keyof Limits, max: number, actual?: number): void {
  assert.ok(error !== undefined, `expected a ${code} error naming ${limit}`);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, new RegExp(`\\b${limit}\\b`), `the message names ${limit}: ${error.message}`);
  assert.equal(error.details?.limit, limit);
  assert.equal(error.details?.max, max);
  if (actual !== undefined) assert.equal(error.details?.actual, actual);
}

/** Waits, with a bound, for something only the sidecar's log shows. */
async function waitFor(ready: () => boolean, what: string, served: Served, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const stderr = served.proc.child.stderr!;
  while (!ready()) {
    const left = deadline - Date.now();
    assert.ok(left > 0, `timed out waiting for ${what}; stderr:\n${served.proc.stderr()}`);
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        stderr.off('data', wake);
        resolve();
      };
      const timer = setTimeout(wake, left);
      stderr.on('data', wake);
    });
  }
}

/** Polls `count` (a request to the sidecar each time) until it reaches `target`, within the bound. */
async function waitForCount(count: () => Promise<number>, target: number, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await count()) < target) assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
}

const wireError = (frame: Record<string, unknown>): WireErrorLike => frame.error as WireErrorLike;

/** `{id, op: "set", path, value: "xx…"}` whose msgpack payload is exactly `bytes` long (a str16 value). */
function setOfPayloadBytes(id: number, path: string, bytes: number): Buffer {
  const envelope = encodeValue({ id, op: 'set', path, value: '' }).length; // the empty string is a 1-byte fixstr
  const payload = encodeValue({ id, op: 'set', path, value: 'x'.repeat(bytes - envelope - 2) }); // a str16 header is 3 bytes
  assert.equal(payload.length, bytes);
  return Buffer.from(payload);
}

/** An array nested `levels` deep around a 1: depth(nested(2)) === 2. */
const nested = (levels: number): unknown => (levels === 0 ? 1 : [nested(levels - 1)]);

test('maxFrameBytes: a frame of exactly the limit is served; one byte more is FRAME_TOO_LARGE, then close', async (t) => {
  const served = await serveWith(t, { maxFrameBytes: 4096 });
  const peer = await helloFrom(served);
  peer.write(encodeFrame(setOfPayloadBytes(1, 'a', 4096)));
  const accepted = await peer.next();
  assert.equal(accepted.ok, true, JSON.stringify(accepted));

  peer.write(encodeFrame(setOfPayloadBytes(2, 'b', 4097)));
  const refused = await peer.next();
  assert.equal(refused.type, 'error', 'a connection-level error: the rest of the stream cannot be trusted');
  assertLimitError(wireError(refused), 'FRAME_TOO_LARGE', 'maxFrameBytes', 4096, 4097);
  await peer.closed();

  // The sidecar serves on: the frame at the limit was applied, the one above it was not.
  const client = clientOf(t, served);
  assert.equal(((await client.get('a')) as string).length, 4096 - encodeValue({ id: 1, op: 'set', path: 'a', value: '' }).length - 2);
  assert.equal(await client.getEntry('b').catch((error: ConfigSidecarError) => error.code), 'NOT_FOUND');
});

test('maxStringBytes: strings, keys and paths of exactly the limit pass; one UTF-8 byte more is LIMIT_EXCEEDED on that request', async (t) => {
  const served = await serveWith(t, { maxStringBytes: 300 });
  (await helloFrom(served)).destroy();
  const client = clientOf(t, served);

  await client.set('s', 'x'.repeat(300));
  assertLimitError(await rejection(client.set('s', 'x'.repeat(301))), 'LIMIT_EXCEEDED', 'maxStringBytes', 300, 301);
  // UTF-8 bytes, not characters: 150 × "é" is 300 bytes.
  await client.set('u', 'é'.repeat(150));
  assertLimitError(await rejection(client.set('u', 'é'.repeat(150) + 'x')), 'LIMIT_EXCEEDED', 'maxStringBytes', 300, 301);
  // Keys inside values and paths are strings too.
  await client.set('k', { ['k'.repeat(300)]: 1 });
  assertLimitError(await rejection(client.set('k', { ['k'.repeat(301)]: 1 })), 'LIMIT_EXCEEDED', 'maxStringBytes', 300, 301);
  await client.set('p'.repeat(300), 1);
  assertLimitError(await rejection(client.set('p'.repeat(301), 1)), 'LIMIT_EXCEEDED', 'maxStringBytes', 300, 301);

  // Nothing above the limit was applied, and the same connection still serves.
  assert.equal(await client.get('s'), 'x'.repeat(300));
  assert.equal(await client.get('u'), 'é'.repeat(150));
  assert.deepEqual(Object.keys((await client.get('k')) as object), ['k'.repeat(300)]);
});

test('maxArrayLength: arrays, maps and batches of exactly the limit pass; one more is LIMIT_EXCEEDED on that request', async (t) => {
  const served = await serveWith(t, { maxArrayLength: 50 });
  (await helloFrom(served)).destroy();
  const client = clientOf(t, served);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  await client.set('list', range(50));
  assertLimitError(await rejection(client.set('list', range(51))), 'LIMIT_EXCEEDED', 'maxArrayLength', 50, 51);
  const map = (n: number) => Object.fromEntries(range(n).map((i) => [`k${i}`, i]));
  await client.set('map', map(50));
  assertLimitError(await rejection(client.set('map', map(51))), 'LIMIT_EXCEEDED', 'maxArrayLength', 50, 51);
  const ops = (n: number) => range(n).map((i) => ({ op: 'set' as const, path: `b.k${i}`, value: i }));
  await client.batch(ops(50));
  assertLimitError(await rejection(client.batch(ops(51))), 'LIMIT_EXCEEDED', 'maxArrayLength', 50, 51);

  assert.deepEqual(await client.get('list'), range(50));
  assert.equal(Object.keys((await client.get('map')) as object).length, 50);
});

test('maxDepth: a document nested maxDepth - 1 deep (maxDepth with the response envelope) passes; one level more is LIMIT_EXCEEDED', async (t) => {
  const served = await serveWith(t, { maxDepth: 8 });
  (await helloFrom(served)).destroy();
  const client = clientOf(t, served);

  // The root object is level 1, "a" holds 6 more: 7 levels, and a get of the root answers with 8.
  await client.set('a', nested(6));
  assertLimitError(await rejection(client.set('a', nested(7))), 'LIMIT_EXCEEDED', 'maxDepth', 8, 8);
  // The path counts as much as the value: x.y.z is three levels below the root.
  await client.set('x.y.z', nested(4));
  assertLimitError(await rejection(client.set('x.y.z', nested(5))), 'LIMIT_EXCEEDED', 'maxDepth', 8, 8);
  assert.deepEqual(await client.get(''), { a: nested(6), x: { y: { z: nested(4) } } });

  // A frame nested deeper than maxDepth is refused while decoding, before any of it is built; its id came first, so it is answered.
  const peer = await helloFrom(served);
  const deepest = await peer.request({ id: 9, op: 'set', path: 'd', value: nested(8) }); // 9 levels with the envelope
  assert.equal(deepest.id, 9);
  assertLimitError(wireError(deepest), 'LIMIT_EXCEEDED', 'maxDepth', 8);
  assert.equal((await peer.request({ id: 10, op: 'ping' })).ok, true, 'the connection is kept');
  peer.destroy();
});

test('maxDocumentBytes: a write leaving the file exactly at the limit is applied; one byte more is LIMIT_EXCEEDED and nothing is applied', async (t) => {
  const served = await serveWith(t, { maxDocumentBytes: 1000 });
  (await helloFrom(served)).destroy();
  const client = clientOf(t, served);

  // The file is pretty JSON with a trailing newline: {"a": s} takes 13 bytes around s.
  const fileBytes = (doc: unknown) => Buffer.byteLength(JSON.stringify(doc, null, 2) + '\n');
  const fill = 'x'.repeat(1000 - fileBytes({ a: '' }));
  assert.equal(fileBytes({ a: fill }), 1000);
  await client.set('a', fill, { waitForFile: true });
  assert.equal((await readFile(served.paths.configPath)).length, 1000, 'the durable file is exactly at the limit');

  assertLimitError(await rejection(client.set('a', fill + 'x')), 'LIMIT_EXCEEDED', 'maxDocumentBytes', 1000, 1001);
  // Growing by a new key is measured the same way: "b": 1 adds a line.
  const added = fileBytes({ a: fill, b: 1 });
  assertLimitError(await rejection(client.set('b', 1)), 'LIMIT_EXCEEDED', 'maxDocumentBytes', 1000, added);
  assert.equal(await client.get('a'), fill);
  assert.equal((await readFile(served.paths.configPath)).length, 1000);

  // Shrinking is always allowed, and frees room.
  await client.set('a', 'short');
  await client.set('b', 1);
  assert.deepEqual(await client.get(''), { a: 'short', b: 1 });
});

test('maxConnections: the limit-th connection is served; the next is refused with LIMIT_EXCEEDED; a freed slot is usable again', async (t) => {
  const served = await serveWith(t, { maxConnections: 5 });
  const peers: RawPeer[] = [];
  for (let i = 0; i < 5; i++) peers.push(await helloFrom(served));
  t.after(() => peers.forEach((peer) => peer.destroy()));

  const refusedPeer = await rawConnect(served.paths.socketPath);
  const refused = await refusedPeer.next();
  assert.equal(refused.type, 'error', 'refused before hello, without being asked');
  assertLimitError(wireError(refused), 'LIMIT_EXCEEDED', 'maxConnections', 5);
  await refusedPeer.closed();

  // A freed slot is usable at once by the next connection.
  peers.shift()!.destroy();
  const deadline = Date.now() + 5000;
  for (;;) {
    const next = await rawConnect(served.paths.socketPath);
    const first = await next.hello();
    if (first.type === 'hello') {
      peers.push(next);
      break;
    }
    // The sidecar may not have seen the freed connection's close yet; it refuses until it has.
    assertLimitError(wireError(first), 'LIMIT_EXCEEDED', 'maxConnections', 5);
    await next.closed();
    assert.ok(Date.now() < deadline, 'the freed slot was never given to a new connection');
  }
  for (const peer of peers) assert.equal((await peer.request({ id: 1, op: 'ping' })).ok, true, 'the admitted connections were never disturbed');
});

test('maxInFlightPerConnection: the limit-th pipelined request is served; the next is LIMIT_EXCEEDED; later requests pass again', async (t) => {
  const served = await serveWith(t, { maxInFlightPerConnection: 4 });
  const peer = await helloFrom(served);
  // Five writes in one socket write: each stays in flight until its flush is durable, so the fifth finds four ahead of it.
  const burst = (first: number) => Buffer.concat([0, 1, 2, 3, 4].map((i) => encodeMessage({ id: first + i, op: 'set', path: `k${first + i}`, value: i })));
  peer.write(burst(1));
  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => peer.next()));
  const refused = answers.filter((answer) => answer.ok === false);
  assert.equal(refused.length, 1, JSON.stringify(answers));
  assert.equal(refused[0]!.id, 5);
  assertLimitError(wireError(refused[0]!), 'LIMIT_EXCEEDED', 'maxInFlightPerConnection', 4);
  assert.deepEqual(answers.filter((answer) => answer.ok === true).map((answer) => answer.id).sort(), [1, 2, 3, 4]);

  // Once those are answered, four more at once are fine: the limit counts what is in flight, not what was sent.
  peer.write(Buffer.concat([0, 1, 2, 3].map((i) => encodeMessage({ id: 10 + i, op: 'set', path: `m${i}`, value: i }))));
  const again = await Promise.all([0, 1, 2, 3].map(() => peer.next()));
  assert.ok(again.every((answer) => answer.ok === true), JSON.stringify(again));
  peer.destroy();
});

test('maxWatchesPerConnection: the limit-th watch is created; the next is LIMIT_EXCEEDED; unwatching frees a slot', async (t) => {
  const served = await serveWith(t, { maxWatchesPerConnection: 3 });
  const peer = await helloFrom(served);
  const watchIds: number[] = [];
  for (let id = 1; id <= 3; id++) {
    const created = await peer.request({ id, op: 'watch', path: `w${id}`, initial: 'none' });
    assert.equal(created.ok, true, JSON.stringify(created));
    watchIds.push(created.watchId as number);
  }
  const refused = await peer.request({ id: 4, op: 'watch', path: 'w4', initial: 'none' });
  assertLimitError(wireError(refused), 'LIMIT_EXCEEDED', 'maxWatchesPerConnection', 3);
  assert.equal((await peer.request({ id: 5, op: 'unwatch', watchId: watchIds[0] })).ok, true);
  assert.equal((await peer.request({ id: 6, op: 'watch', path: 'w4', initial: 'none' })).ok, true);
  peer.destroy();

  // Through the client library: the refused watch fails through onError; the others keep delivering.
  const client = clientOf(t, served);
  const seen: string[] = [];
  const handles = [1, 2, 3].map((i) => client.watch(`v${i}`, (event) => seen.push(`${i}:${event.source}`)));
  const error = await new Promise<Error>((resolve) => handles.push(client.watch('v4', () => assert.fail('never created'), { onError: resolve })));
  assert.ok(error instanceof ConfigSidecarError);
  assertLimitError(error, 'LIMIT_EXCEEDED', 'maxWatchesPerConnection', 3);
  await client.set('v1', 'changed');
  assert.equal(await client.get('v1'), 'changed');
  for (const handle of handles) handle.close();
  assert.ok(seen.includes('1:snapshot') && seen.includes('2:snapshot') && seen.includes('3:snapshot'), seen.join());
});

test('maxOutboundBytes: answers past it wait for a reader that reads, none lost; a reader that stops is cut off once it holds too many; so is a watcher that stops', async (t) => {
  const served = await serveWith(t, { maxOutboundBytes: 65_536, maxInFlightPerConnection: 64 });
  const client = clientOf(t, served);
  const big = 'x'.repeat(16_384); // each answer carrying it is a quarter of the limit
  await client.set('big', big);
  const gets = (count: number, first = 1) => Buffer.concat(Array.from({ length: count }, (_, i) => encodeMessage({ id: first + i, op: 'get', path: 'big' })));
  const getsAnswered = async () => ((await client.stats()).requests as Record<string, number>).get ?? 0;

  // Answers four times the limit, asked for at once by a reader that reads: all of them, in order.
  const reader = await helloFrom(served);
  reader.write(gets(16));
  for (let id = 1; id <= 16; id++) assert.equal((await reader.next()).id, id);
  assert.equal(reader.isClosed, false);
  reader.destroy();
  // The same through the client library: concurrent reads of large values are not a slow reader.
  assert.ok((await Promise.all(Array.from({ length: 16 }, () => client.get('big')))).every((value) => value === big));

  // A reader that stops reading with 48 answers due (fewer than it may have in flight): they wait for it.
  const paused = await helloFrom(served);
  paused.pause();
  const before = await getsAnswered();
  paused.write(gets(48));
  await waitForCount(getsAnswered, before + 48, 'the sidecar to answer the paused reader');
  paused.resume();
  for (let id = 1; id <= 48; id++) assert.equal((await paused.next()).id, id);
  assert.equal(paused.isClosed, false, 'a reader that resumes is never cut off');
  paused.destroy();

  // One that stops reading but goes on asking: once more than 64 answers are held for it, it is cut off.
  // (Asked for at once, the requests past 64 would be refused as too many in flight instead.)
  const stalled = await helloFrom(served);
  stalled.pause();
  const first = await getsAnswered();
  stalled.write(gets(48));
  await waitForCount(getsAnswered, first + 48, 'the sidecar to answer the stalled reader');
  stalled.write(gets(48, 49));
  await waitFor(() => /maxInFlightPerConnection 64 answers held/.test(served.proc.stderr()), 'the cut-off warning naming both limits', served);
  stalled.resume();
  for (let frame = await stalled.next().catch(() => undefined); frame !== undefined; frame = await stalled.next().catch(() => undefined));
  assert.equal(stalled.isClosed, true);

  // A watcher that stops reading while writes go on is cut off once its backlog passes the limit.
  const watcher = await helloFrom(served);
  assert.equal((await watcher.request({ id: 1, op: 'watch', path: 'big', initial: 'none' })).ok, true);
  watcher.pause();
  for (let i = 0; !served.proc.stderr().includes('a watch event would pass maxOutboundBytes'); i++) {
    assert.ok(i < 2000, `the stalled watcher was never cut off; stderr:\n${served.proc.stderr()}`);
    await client.set('big', `${i}`.padEnd(16_384, 'w'));
  }
  watcher.resume();
  await watcher.closed();

  // A single answer larger than the limit is not a backlog: it is delivered whole, and the sidecar serves on.
  const huge = 'y'.repeat(100_000);
  await client.set('huge', huge);
  assert.equal(await client.get('huge'), huge);
  assert.equal((await client.health()).status, 'ok');
});

test('partialFrameIdleMs: partial frames completed within the limit are served; one left longer is LIMIT_EXCEEDED, then close', async (t) => {
  const served = await serveWith(t, { partialFrameIdleMs: 600 });
  const peer = await helloFrom(served);
  // Each frame is finished a third of the limit after it was started: never idle that long, over twice the limit in all.
  const started = Date.now();
  for (let id = 1; id <= 6; id++) {
    const frame = encodeMessage({ id, op: 'ping' });
    peer.write(frame.subarray(0, 3));
    await new Promise((resolve) => setTimeout(resolve, 200));
    peer.write(frame.subarray(3));
    assert.equal((await peer.next()).id, id);
  }
  assert.ok(Date.now() - started >= 1200);

  // Half a frame, then silence.
  const stuck = Date.now();
  peer.write(encodeMessage({ id: 7, op: 'ping' }).subarray(0, 5));
  const refused = await peer.next(5000);
  const waited = Date.now() - stuck;
  assertLimitError(wireError(refused), 'LIMIT_EXCEEDED', 'partialFrameIdleMs', 600);
  await peer.closed();
  assert.ok(waited >= 590 && waited < 5000, `closed after ${waited} ms`);
  (await helloFrom(served)).destroy();
});

test('helloTimeoutMs: a hello within the limit is answered; none within it is a PROTOCOL error naming the limit, then close', async (t) => {
  const served = await serveWith(t, { helloTimeoutMs: 600 });
  const late = await rawConnect(served.paths.socketPath);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal((await late.hello()).type, 'hello');
  late.destroy();

  const silent = await rawConnect(served.paths.socketPath);
  const connected = Date.now();
  const refused = await silent.next(5000);
  const waited = Date.now() - connected;
  // A missing hello breaks the handshake itself: PROTOCOL (docs/protocol.md §5), still naming the limit that ran out.
  assertLimitError(wireError(refused), 'PROTOCOL', 'helloTimeoutMs', 600);
  await silent.closed();
  assert.ok(waited >= 590 && waited < 5000, `refused after ${waited} ms`);
  (await helloFrom(served)).destroy();
});

test('a bad --limit is a usage error (exit 2) naming the flag, and no sidecar starts', async (t) => {
  const paths = await testPaths(t);
  for (const flag of ['maxDepth=0', 'maxDepth=1.5', 'maxDepht=8']) {
    const result = await runNode(CLI, ['serve', '--config', paths.configPath, '--socket', paths.socketPath, '--limit', flag]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`--limit ${flag}:`));
  }
});

test('every limit given at once takes effect and is reported in hello', async (t) => {
  const served = await serveWith(t, {
    maxFrameBytes: 2048,
    maxDocumentBytes: 4096,
    maxStringBytes: 512,
    maxDepth: 16,
    maxArrayLength: 100,
    maxConnections: 10,
    maxInFlightPerConnection: 8,
    maxWatchesPerConnection: 2,
    maxOutboundBytes: 1 << 20,
    partialFrameIdleMs: 3000,
    helloTimeoutMs: 3000,
  });
  const peer = await helloFrom(served);
  // One probe per size limit: each still names its own limit when the others are set too.
  const probes: [Record<string, unknown>, keyof Limits][] = [
    [{ id: 1, op: 'set', path: 's', value: 'x'.repeat(513) }, 'maxStringBytes'],
    [{ id: 2, op: 'set', path: 'l', value: Array.from({ length: 101 }, () => 0) }, 'maxArrayLength'],
    [{ id: 3, op: 'set', path: 'd', value: nested(16) }, 'maxDepth'],
  ];
  for (const [request, limit] of probes) assert.equal(wireError(await peer.request(request)).details?.limit, limit);
  // Each {"kN": 500 × x} entry is 512 bytes of file: seven fit in 4096, the eighth does not.
  for (let i = 0; i < 7; i++) assert.equal((await peer.request({ id: 10 + i, op: 'set', path: `k${i}`, value: 'x'.repeat(500) })).ok, true);
  assert.equal(wireError(await peer.request({ id: 20, op: 'set', path: 'k7', value: 'x'.repeat(500) })).details?.limit, 'maxDocumentBytes');
  peer.write(encodeFrame(setOfPayloadBytes(21, 'f', 2049)));
  assert.equal(wireError(await peer.next()).details?.limit, 'maxFrameBytes');
  await peer.closed();
});

// The client library's side of the limits: each fails fast (no waiting for a deadline) if it regresses.

test('a client refused for maxConnections retries with one dial loop, and its call completes once a slot frees', async (t) => {
  const served = await serveWith(t, { maxConnections: 2 });
  const peers = [await helloFrom(served), await helloFrom(served)];
  t.after(() => peers.forEach((peer) => peer.destroy()));
  const client = clientOf(t, served);
  const outcome = client.set('late', true, { timeoutMs: 15_000 }).then(
    () => 'applied',
    (error: unknown) => `failed: ${(error as Error).message}`,
  );
  let reconnects = 0;
  client.on('status', (event) => event.type === 'reconnecting' && reconnects++);
  await new Promise<void>((resolve) => client.once('status', function onStatus(event) {
    if (event.type === 'reconnecting') setImmediate(resolve);
    else client.once('status', onStatus);
  }));
  // One refusal, one reconnect scheduled: a second one would be a second dial loop competing for the slot.
  assert.equal(reconnects, 1);
  peers.shift()!.destroy();
  assert.equal(await outcome, 'applied');
  assert.equal(await client.get('late'), true);
  assert.equal((await peers[0]!.request({ id: 1, op: 'ping' })).ok, true, 'the admitted connection was never disturbed');
});

test('the client sizes its response decoder from hello: a 17 MiB answer from a sidecar allowing 20 MiB documents arrives', async (t) => {
  const mib = 1024 * 1024;
  const served = await serveWith(t, { maxFrameBytes: 20 * mib, maxDocumentBytes: 20 * mib, maxStringBytes: 20 * mib });
  (await helloFrom(served)).destroy();
  const value = 'z'.repeat(17 * mib); // more than a decoder sized for the default limits takes (16 MiB + 64 KiB)
  const client = clientOf(t, served);
  await client.ready(); // a 17 MiB call would not fit the queue for calls made before the client is connected
  await client.set('big', value, { timeoutMs: 30_000 });
  const dropped = new Promise<never>((_, reject) => client.on('status', (event) => event.type === 'disconnected' && reject(new Error(`dropped: ${event.error}`))));
  const got = await Promise.race([client.get('big', { timeoutMs: 30_000 }), dropped]);
  assert.equal((got as string).length, value.length);
});

test('a client write whose frame exceeds maxFrameBytes is refused locally with FRAME_TOO_LARGE; the connection is kept', async (t) => {
  const served = await serveWith(t, { maxFrameBytes: 4096 });
  const client = clientOf(t, served);
  await client.ready();
  let drops = 0;
  client.on('status', (event) => event.type === 'disconnected' && drops++);
  assertLimitError(await rejection(client.set('a', 'x'.repeat(5000))), 'FRAME_TOO_LARGE', 'maxFrameBytes', 4096);
  await client.set('a', 'fits');
  assert.equal(drops, 0, 'the connection was never dropped');
});

test('an array or object cannot grow past maxArrayLength one element at a time (what is stored can always be written back)', async (t) => {
  const served = await serveWith(t, { maxArrayLength: 5 });
  const client = clientOf(t, served);
  await client.set('list', [0, 1, 2, 3]);
  await client.set('list.4', 4); // appending the fifth element: at the limit
  assertLimitError(await rejection(client.set('list.5', 5)), 'LIMIT_EXCEEDED', 'maxArrayLength', 5, 6);
  await client.set('map', { a: 0, b: 1, c: 2, d: 3 });
  await client.set('map.e', 4);
  assertLimitError(await rejection(client.set('map.f', 5)), 'LIMIT_EXCEEDED', 'maxArrayLength', 5, 6);
  // The stored values round-trip: a client can always write back what it read.
  await client.set('list', await client.get('list'));
  await client.set('map', await client.get('map'));
});
