// CallTable with a fake `send` and fake timers: every call settles exactly
// once; a call that timed out or was aborted while queued is never sent; on a
// disconnect, writes in flight fail OUTCOME_UNKNOWN and reads are sent again;
// the queue is bounded; close rejects everything. A call held for its check
// keeps its place: the calls behind it wait, its deadline and signal count.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import fc from 'fast-check';
import { CallTable, type CallOptions, type CallTableOptions } from '../../client/calls.js';
import { ClientErrorCode, ConfigSidecarError } from '../../client/client-errors.js';

interface Sent {
  request: Record<string, unknown>;
  id: number;
}

/** A CallTable whose connection is a flag and whose wire is an array. */
function harness(options: Partial<CallTableOptions> = {}) {
  const sent: Sent[] = [];
  let connected = false;
  const table = new CallTable<Record<string, unknown>>({
    defaultTimeoutMs: 5000,
    maxQueuedCalls: 3,
    maxQueuedBytes: 1000,
    send: (request, id) => {
      if (!connected) return false;
      sent.push({ request, id });
      return true;
    },
    sizeOf: () => 10,
    unavailableReason: () => (connected ? undefined : 'no sidecar (test)'),
    ...options,
  });
  return {
    table,
    sent,
    connect() {
      connected = true;
      table.onConnected();
    },
    disconnect(reason = 'link lost') {
      connected = false;
      table.onDisconnected(reason);
    },
    /** The id a request with this tag was last sent under. */
    idOf(tag: string): number {
      const found = sent.findLast((s) => s.request.tag === tag);
      assert.ok(found, `${tag} was never sent`);
      return found.id;
    },
    tags: () => sent.map((s) => s.request.tag),
  };
}

interface Outcome {
  settled: number;
  value?: Record<string, unknown>;
  error?: ConfigSidecarError;
}

/** Watches a call's promise; `settled` counts how often it settled (must end at exactly 1). */
function track(promise: Promise<Record<string, unknown>>): Outcome {
  const outcome: Outcome = { settled: 0 };
  promise.then(
    (value) => {
      outcome.settled++;
      outcome.value = value;
    },
    (error: ConfigSidecarError) => {
      outcome.settled++;
      outcome.error = error;
    },
  );
  return outcome;
}

/** Lets promise callbacks run (setImmediate is not faked). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function call(h: ReturnType<typeof harness>, op: string, tag: string, options?: CallOptions): Outcome {
  return track(h.table.call({ op, tag }, options));
}

/** A check the test passes or fails when it wants. */
function deferredCheck(): { promise: Promise<void>; pass(): void; fail(error: Error): void } {
  let pass!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    pass = resolve;
    fail = reject;
  });
  return { promise, pass, fail };
}

/** Runs `body`, then asserts no promise rejection went unhandled meanwhile. */
async function withoutUnhandledRejections(body: () => Promise<void>): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await body();
    await flush();
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

/** A call held until `check` passes. */
function heldCall(h: ReturnType<typeof harness>, op: string, tag: string, check: Promise<void>, options?: CallOptions): Outcome {
  return track(h.table.call({ op, tag }, options, { check }));
}

describe('CallTable', () => {
  // Deadlines run on fake timers: no test waits for real time, none leaves a timer behind.
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('a call made while connected is sent at once and resolves with its response, once', async () => {
    const h = harness();
    h.connect();
    const get = call(h, 'get', 'g');
    assert.deepEqual(h.tags(), ['g']);
    h.table.onResponse(h.idOf('g'), { ok: true, value: 1 });
    h.table.onResponse(h.idOf('g'), { ok: true, value: 2 });
    await flush();
    assert.deepEqual(get, { settled: 1, value: { ok: true, value: 1 } });
    assert.deepEqual(h.table.size, { queued: 0, inFlight: 0 });
  });

  test('a response with an unknown id is ignored', async () => {
    const h = harness();
    h.connect();
    const get = call(h, 'get', 'g');
    h.table.onResponse(999, { ok: true });
    await flush();
    assert.equal(get.settled, 0);
    assert.deepEqual(h.table.size, { queued: 0, inFlight: 1 });
  });

  test('calls made while disconnected wait, then go out oldest first on connect, each with a unique id', () => {
    const h = harness();
    call(h, 'get', 'a');
    call(h, 'set', 'b');
    call(h, 'ping', 'c');
    assert.equal(h.sent.length, 0);
    assert.deepEqual(h.table.size, { queued: 3, inFlight: 0 });
    h.connect();
    assert.deepEqual(h.tags(), ['a', 'b', 'c']);
    assert.equal(new Set(h.sent.map((s) => s.id)).size, 3);
    assert.deepEqual(h.table.size, { queued: 0, inFlight: 3 });
  });

  test('a call that times out while queued rejects and is never sent afterwards', async () => {
    const h = harness();
    const get = call(h, 'get', 'late', { timeoutMs: 1000 });
    mock.timers.tick(999);
    await flush();
    assert.equal(get.settled, 0);
    mock.timers.tick(1);
    await flush();
    assert.equal(get.settled, 1);
    // No sidecar could be reached: UNAVAILABLE says why.
    assert.equal(get.error?.code, ClientErrorCode.UNAVAILABLE);
    assert.match(get.error!.message, /no sidecar answered within 1000 ms: no sidecar \(test\)/);
    assert.deepEqual(h.table.size, { queued: 0, inFlight: 0 });
    h.connect();
    assert.deepEqual(h.sent, []);
  });

  test('a queued call times out as TIMEOUT (not sent) when the table has no reason to blame', async () => {
    const h = harness({ unavailableReason: () => undefined });
    const get = call(h, 'get', 'g', { timeoutMs: 10 });
    mock.timers.tick(10);
    await flush();
    assert.equal(get.error?.code, ClientErrorCode.TIMEOUT);
    assert.deepEqual(get.error?.details, { sent: false });
  });

  test('the deadline counts from the call, queue time included', async () => {
    const h = harness();
    const get = call(h, 'get', 'g', { timeoutMs: 1000 });
    mock.timers.tick(600);
    h.connect();
    mock.timers.tick(399);
    await flush();
    assert.equal(get.settled, 0);
    mock.timers.tick(1);
    await flush();
    assert.equal(get.error?.code, ClientErrorCode.TIMEOUT);
    assert.deepEqual(get.error?.details, { sent: true });
  });

  test('the default deadline applies when a call has none', async () => {
    const h = harness({ defaultTimeoutMs: 250 });
    h.connect();
    const get = call(h, 'get', 'g');
    mock.timers.tick(249);
    await flush();
    assert.equal(get.settled, 0);
    mock.timers.tick(1);
    await flush();
    assert.equal(get.error?.code, ClientErrorCode.TIMEOUT);
  });

  test('a sent write that times out says it may still be applied; its late response is ignored', async () => {
    const h = harness();
    h.connect();
    const set = call(h, 'set', 's', { timeoutMs: 50 });
    mock.timers.tick(50);
    h.table.onResponse(h.idOf('s'), { ok: true });
    await flush();
    assert.equal(set.settled, 1);
    assert.equal(set.error?.code, ClientErrorCode.TIMEOUT);
    assert.match(set.error!.message, /set timed out after 50 ms; the write was sent and may still be applied/);
    assert.deepEqual(h.table.size, { queued: 0, inFlight: 0 });
  });

  test('aborting a queued call removes it: ABORTED, its queue room freed, never sent', async () => {
    const h = harness({ maxQueuedCalls: 1 });
    const controller = new AbortController();
    const get = call(h, 'get', 'g', { signal: controller.signal });
    controller.abort(new Error('user gave up'));
    await flush();
    assert.equal(get.error?.code, ClientErrorCode.ABORTED);
    assert.match(get.error!.message, /the call was aborted: user gave up/);
    assert.deepEqual(h.table.size, { queued: 0, inFlight: 0 });
    const next = call(h, 'get', 'next');
    h.connect();
    assert.deepEqual(h.tags(), ['next']);
    assert.equal(next.settled, 0);
  });

  test('a call with an already aborted signal rejects at once and is never queued or sent', async () => {
    const h = harness();
    h.connect();
    const get = call(h, 'get', 'g', { signal: AbortSignal.abort() });
    await flush();
    assert.equal(get.error?.code, ClientErrorCode.ABORTED);
    assert.deepEqual(h.sent, []);
  });

  test('aborting a call in flight settles it; its response is then ignored', async () => {
    const h = harness();
    h.connect();
    const controller = new AbortController();
    const get = call(h, 'get', 'g', { signal: controller.signal });
    controller.abort();
    h.table.onResponse(h.idOf('g'), { ok: true });
    await flush();
    assert.equal(get.settled, 1);
    assert.equal(get.error?.code, ClientErrorCode.ABORTED);
  });

  test('on disconnect, writes in flight reject OUTCOME_UNKNOWN and are never sent again', async () => {
    const h = harness();
    h.connect();
    const writes = ['set', 'delete', 'batch'].map((op) => call(h, op, op));
    h.disconnect('socket closed');
    h.connect();
    await flush();
    for (const write of writes) {
      assert.equal(write.error?.code, ClientErrorCode.OUTCOME_UNKNOWN);
      assert.match(write.error!.message, /the connection dropped \(socket closed\) after this \w+ was sent; it may or may not have been applied/);
    }
    assert.deepEqual(h.tags(), ['set', 'delete', 'batch']);
  });

  test('on disconnect, reads in flight are re-sent on reconnect, in order, ahead of calls queued meanwhile', async () => {
    const h = harness({ maxQueuedCalls: 10 });
    h.connect();
    const reads = ['get', 'ping', 'health', 'stats'].map((op) => call(h, op, op));
    const oldIds = h.sent.map((s) => s.id);
    h.disconnect();
    const queued = call(h, 'set', 'queued-write');
    assert.deepEqual(h.table.size, { queued: 5, inFlight: 0 });
    h.connect();
    assert.deepEqual(h.tags(), ['get', 'ping', 'health', 'stats', 'get', 'ping', 'health', 'stats', 'queued-write']);
    // A late answer on an old id (from the dropped connection) is not taken for the new one.
    for (const id of oldIds) h.table.onResponse(id, { ok: true, stale: true });
    await flush();
    assert.ok(reads.every((r) => r.settled === 0));
    for (const op of ['get', 'ping', 'health', 'stats']) h.table.onResponse(h.idOf(op), { ok: true, op });
    h.table.onResponse(h.idOf('queued-write'), { ok: true });
    await flush();
    assert.deepEqual(
      reads.map((r) => r.value),
      ['get', 'ping', 'health', 'stats'].map((op) => ({ ok: true, op })),
    );
    assert.equal(queued.settled, 1);
  });

  test('a write that was queued, not sent, survives a disconnect and is sent on the next connection', async () => {
    const h = harness();
    const set = call(h, 'set', 's');
    h.disconnect();
    h.connect();
    assert.deepEqual(h.tags(), ['s']);
    h.table.onResponse(h.idOf('s'), { ok: true });
    await flush();
    assert.deepEqual(set.value, { ok: true });
  });

  test('the queue is bounded in calls: one more is QUEUE_FULL at once', async () => {
    const h = harness({ maxQueuedCalls: 2 });
    call(h, 'get', 'a');
    call(h, 'get', 'b');
    const third = call(h, 'get', 'c');
    await flush();
    assert.equal(third.error?.code, ClientErrorCode.QUEUE_FULL);
    assert.match(third.error!.message, /queue is full \(2 calls, 20 bytes; limits 2 calls, 1000 bytes\)/);
    assert.deepEqual(h.table.size, { queued: 2, inFlight: 0 });
    h.connect();
    assert.deepEqual(h.tags(), ['a', 'b']);
  });

  test('the queue is bounded in bytes', async () => {
    const h = harness({ sizeOf: (request) => (request.tag === 'big' ? 900 : 60), maxQueuedBytes: 1000 });
    call(h, 'get', 'small');
    const big = call(h, 'set', 'big');
    const other = call(h, 'set', 'other');
    await flush();
    assert.equal(big.settled, 0);
    assert.equal(other.error?.code, ClientErrorCode.QUEUE_FULL);
  });

  test('reads put back in the queue by a disconnect count against its bound', async () => {
    const h = harness({ maxQueuedCalls: 2 });
    h.connect();
    call(h, 'get', 'a');
    call(h, 'get', 'b');
    h.disconnect();
    const c = call(h, 'get', 'c');
    await flush();
    assert.equal(c.error?.code, ClientErrorCode.QUEUE_FULL);
  });

  test('the queue bound does not apply while connected', async () => {
    const h = harness({ maxQueuedCalls: 1 });
    h.connect();
    const calls = Array.from({ length: 10 }, (_, i) => call(h, 'get', `g${i}`));
    await flush();
    assert.ok(calls.every((c) => c.settled === 0));
    assert.equal(h.sent.length, 10);
  });

  test('a call held for its check keeps its place: later calls wait behind it and go out in call order once it passes', async () => {
    const h = harness();
    h.connect();
    const check = deferredCheck();
    const held = heldCall(h, 'set', 'held', check.promise);
    const read = call(h, 'get', 'after');
    await flush();
    assert.deepEqual(h.tags(), [], 'nothing overtakes the held write');
    check.pass();
    await flush();
    assert.deepEqual(h.tags(), ['held', 'after']);
    assert.equal(held.settled + read.settled, 0);
  });

  test('a held call whose check fails rejects alone with its error; the calls behind it go', async () => {
    const h = harness();
    h.connect();
    const check = deferredCheck();
    const held = heldCall(h, 'set', 'held', check.promise);
    call(h, 'get', 'after');
    check.fail(new ConfigSidecarError('VALIDATION_FAILED', 'port: too small; nothing was sent'));
    await flush();
    assert.equal(held.error?.code, 'VALIDATION_FAILED');
    assert.deepEqual(h.tags(), ['after']);
  });

  test("while a call is held, the calls behind it keep their own deadline and signal, and close rejects them at once", async () => {
    const h = harness({ maxQueuedCalls: 10 });
    h.connect();
    const check = deferredCheck();
    const held = heldCall(h, 'set', 'held', check.promise, { timeoutMs: 60_000 });
    const timed = call(h, 'get', 'timed', { timeoutMs: 200 });
    const controller = new AbortController();
    const aborted = call(h, 'get', 'aborted', { signal: controller.signal });
    const closed = call(h, 'get', 'closed');
    mock.timers.tick(100);
    controller.abort();
    await flush();
    assert.equal(aborted.error?.code, ClientErrorCode.ABORTED);
    mock.timers.tick(100);
    await flush();
    assert.equal(timed.error?.code, ClientErrorCode.TIMEOUT);
    assert.match(timed.error!.message, /get timed out after 200 ms/);
    h.table.close(new ConfigSidecarError(ClientErrorCode.CLOSED, 'the client was closed'));
    await flush();
    assert.equal(closed.error?.code, ClientErrorCode.CLOSED);
    assert.equal(held.error?.code, ClientErrorCode.CLOSED);
    check.pass();
    await flush();
    assert.deepEqual(h.tags(), [], 'nothing was sent');
  });

  test('a held call that times out lets the calls behind it go', async () => {
    const h = harness();
    h.connect();
    const check = deferredCheck();
    const held = heldCall(h, 'set', 'held', check.promise, { timeoutMs: 100 });
    call(h, 'get', 'behind');
    mock.timers.tick(100);
    await flush();
    assert.equal(held.error?.code, ClientErrorCode.TIMEOUT);
    assert.deepEqual(h.tags(), ['behind']);
    check.pass();
    await flush();
    assert.deepEqual(h.tags(), ['behind'], 'a call that timed out while held is never sent');
  });

  test('the queue bound counts held calls while disconnected; while connected it refuses neither them nor the calls behind them', async () => {
    const h = harness({ maxQueuedCalls: 1 });
    heldCall(h, 'set', 'held', deferredCheck().promise);
    const over = call(h, 'get', 'over');
    await flush();
    assert.equal(over.error?.code, ClientErrorCode.QUEUE_FULL);
    assert.match(over.error!.message, /not connected and the queue is full \(1 calls/);
    const connected = harness({ maxQueuedCalls: 0, maxQueuedBytes: 0 });
    connected.connect();
    const check = deferredCheck();
    const held = heldCall(connected, 'set', 'held', check.promise);
    const behind = call(connected, 'get', 'behind');
    check.pass();
    await flush();
    assert.equal(held.error, undefined);
    assert.equal(behind.error, undefined);
    assert.deepEqual(connected.tags(), ['held', 'behind']);
  });

  test('a call refused at once (closed, or its signal already aborted) leaves no unhandled rejection when its check fails', async () => {
    await withoutUnhandledRejections(async () => {
      const h = harness();
      const aborted = deferredCheck();
      const abortedCall = heldCall(h, 'set', 'a', aborted.promise, { signal: AbortSignal.abort() });
      h.table.close(new ConfigSidecarError(ClientErrorCode.CLOSED, 'the client was closed'));
      const closed = deferredCheck();
      const closedCall = heldCall(h, 'set', 'c', closed.promise);
      aborted.fail(new ConfigSidecarError('VALIDATION_FAILED', 'refused'));
      closed.fail(new ConfigSidecarError('VALIDATION_FAILED', 'refused'));
      await flush();
      await flush();
      assert.equal(abortedCall.error?.code, ClientErrorCode.ABORTED);
      assert.equal(closedCall.error?.code, ClientErrorCode.CLOSED);
    });
  });

  test('a request the connection cannot encode fails alone with the reason; the calls behind it go', async () => {
    let up = false;
    const h = harness({
      send: (request, id) => {
        if (!up) return false;
        if (request.tag === 'bad') throw new Error('Unknown type: symbol');
        h.sent.push({ request, id });
        return true;
      },
    });
    // Queued while disconnected, sent from onConnected (inside the socket's data handler in the client).
    const bad = call(h, 'set', 'bad');
    call(h, 'get', 'after');
    up = true;
    h.connect();
    await flush();
    assert.equal(bad.error?.code, 'BAD_REQUEST');
    assert.equal(bad.error?.message, 'this set cannot be encoded (Unknown type: symbol); nothing was sent');
    assert.deepEqual(h.tags(), ['after']);
  });

  test('a request that cannot even be measured (a cycle) fails at once with BAD_REQUEST, never queued', async () => {
    const h = harness({
      sizeOf: () => {
        throw new TypeError('Converting circular structure to JSON');
      },
    });
    const cyclic = call(h, 'set', 'cyclic');
    await flush();
    assert.equal(cyclic.error?.code, 'BAD_REQUEST');
    assert.match(cyclic.error!.message, /cannot be encoded \(Converting circular structure to JSON\)/);
    assert.deepEqual(h.table.size, { queued: 0, inFlight: 0 });
  });

  test('options that are not what they claim (a BigInt deadline, a signal that is not one) reject the call; its check never goes unhandled', async () => {
    await withoutUnhandledRejections(async () => {
      const h = harness();
      const checks = [deferredCheck(), deferredCheck()];
      const badDeadline = heldCall(h, 'set', 'a', checks[0]!.promise, { timeoutMs: 10n as unknown as number });
      const badSignal = heldCall(h, 'set', 'b', checks[1]!.promise, { signal: { aborted: false } as unknown as AbortSignal });
      for (const check of checks) check.fail(new ConfigSidecarError('VALIDATION_FAILED', 'refused'));
      await flush();
      await flush();
      assert.match(String(badDeadline.error), /timeoutMs must be a number of milliseconds/);
      assert.match(String(badSignal.error), /signal must be an AbortSignal/);
      assert.deepEqual(h.table.size, { queued: 0, inFlight: 0 });
    });
  });

  test('a deadline past what a timer holds (Infinity) waits, held to about 24.8 days, instead of firing at once', async () => {
    const h = harness();
    const patient = call(h, 'get', 'patient', { timeoutMs: Infinity });
    mock.timers.tick(60_000);
    await flush();
    assert.equal(patient.settled, 0);
    h.connect();
    assert.deepEqual(h.tags(), ['patient']);
  });

  test('calls that waited behind a held call while connected are held to the queue bound when the link drops; reads put back stay', async () => {
    const h = harness({ maxQueuedCalls: 2 });
    h.connect();
    const read = call(h, 'get', 'sent');
    heldCall(h, 'set', 'held', deferredCheck().promise);
    const behind = [call(h, 'get', 'b1'), call(h, 'get', 'b2'), call(h, 'get', 'b3')];
    await flush();
    assert.deepEqual(h.table.size, { queued: 4, inFlight: 1 });
    h.disconnect();
    await flush();
    // A bound of 2: the read put back (sent already) and the held call stay; the three newest are refused.
    assert.equal(read.settled, 0);
    assert.deepEqual(
      behind.map((outcome) => outcome.error?.code),
      [ClientErrorCode.QUEUE_FULL, ClientErrorCode.QUEUE_FULL, ClientErrorCode.QUEUE_FULL],
    );
    assert.match(behind[2]!.error!.message, /the connection dropped \(link lost\) and the queue is full .*this get was not sent/);
    assert.deepEqual(h.table.size, { queued: 2, inFlight: 0 });
  });

  test('when the link drops, the queue bound is applied oldest first as at each call: a held head too large for it goes, the small calls behind it stay', async () => {
    const h = harness({ maxQueuedBytes: 100, sizeOf: (request) => (request.size as number | undefined) ?? 10 });
    h.connect();
    const head = track(h.table.call({ op: 'set', tag: 'big', size: 200 }, {}, { check: deferredCheck().promise }));
    const small = [call(h, 'get', 's1'), call(h, 'get', 's2')];
    h.disconnect();
    await flush();
    assert.equal(head.error?.code, ClientErrorCode.QUEUE_FULL);
    assert.deepEqual(
      small.map((outcome) => outcome.settled),
      [0, 0],
    );
    h.connect();
    assert.deepEqual(h.tags(), ['s1', 's2']);
  });

  test('a watch request still queued behind a held call when the link drops fails UNAVAILABLE, like one in flight (its owner asks again on connect)', async () => {
    const h = harness({ maxQueuedCalls: 10 });
    h.connect();
    heldCall(h, 'set', 'held', deferredCheck().promise);
    const watch = call(h, 'watch', 'w');
    h.disconnect();
    await flush();
    assert.equal(watch.error?.code, ClientErrorCode.UNAVAILABLE);
  });

  test('a signal without removeEventListener is refused up front (its cleanup would throw into a timer)', async () => {
    const h = harness();
    const odd = call(h, 'get', 'g', { signal: { aborted: false, addEventListener() {} } as unknown as AbortSignal, timeoutMs: 100 });
    await flush();
    assert.match(String(odd.error), /signal must be an AbortSignal/);
    mock.timers.tick(100);
  });

  test('a call made `ahead` (the heartbeat) passes held calls', async () => {
    const h = harness();
    h.connect();
    heldCall(h, 'set', 'held', deferredCheck().promise);
    track(h.table.call({ op: 'ping', tag: 'beat' }, {}, { ahead: true }));
    await flush();
    assert.deepEqual(h.tags(), ['beat']);
  });

  test('close rejects every queued and in-flight call with the given error, and every later call', async () => {
    const h = harness();
    h.connect();
    const inFlight = call(h, 'set', 'w');
    h.disconnect();
    h.connect();
    const read = call(h, 'get', 'r');
    h.disconnect();
    const queued = call(h, 'get', 'q');
    h.table.close(new ConfigSidecarError(ClientErrorCode.CLOSED, 'the client was closed'));
    const later = call(h, 'get', 'later');
    h.connect();
    mock.timers.tick(10_000);
    await flush();
    assert.equal(inFlight.error?.code, ClientErrorCode.OUTCOME_UNKNOWN);
    for (const outcome of [read, queued, later]) {
      assert.equal(outcome.settled, 1);
      assert.equal(outcome.error?.code, ClientErrorCode.CLOSED);
    }
    assert.deepEqual(h.table.size, { queued: 0, inFlight: 0 });
    assert.deepEqual(h.tags(), ['w', 'r']);
  });
});

describe('CallTable under random events', () => {
  type Event =
    | { kind: 'call'; write: boolean; timeoutMs: number; abortable: boolean; held: boolean }
    | { kind: 'check'; pick: number; pass: boolean }
    | { kind: 'connect' }
    | { kind: 'disconnect' }
    | { kind: 'respond'; pick: number }
    | { kind: 'abort'; pick: number }
    | { kind: 'tick'; ms: number };

  const event: fc.Arbitrary<Event> = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ kind: fc.constant('call' as const), write: fc.boolean(), timeoutMs: fc.integer({ min: 1, max: 400 }), abortable: fc.boolean(), held: fc.boolean() }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('check' as const), pick: fc.nat(), pass: fc.boolean() }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'connect' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'disconnect' as const }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('respond' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 200 }) }) },
  );

  test('every call settles exactly once; nothing settled is ever sent; no write is sent twice; calls are first sent in call order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { maxLength: 40 }), fc.integer({ min: 1, max: 6 }), async (events, maxQueuedCalls) => {
        mock.timers.enable({ apis: ['setTimeout'] });
        try {
          interface Tracked {
            tag: string;
            write: boolean;
            outcome: Outcome;
            controller: AbortController;
            sends: number;
            check: ReturnType<typeof deferredCheck> | undefined;
          }
          /** Call numbers in the order of each call's first send. */
          const firstSends: number[] = [];
          const calls = new Map<string, Tracked>();
          let connected = false;
          const wire: Sent[] = [];
          const table = new CallTable<Record<string, unknown>>({
            defaultTimeoutMs: 5000,
            maxQueuedCalls,
            maxQueuedBytes: 1_000_000,
            send: (request, id) => {
              if (!connected) return false;
              const tracked = calls.get(request.tag as string)!;
              assert.equal(tracked.outcome.settled, 0, `${tracked.tag} was sent after it settled`);
              if (tracked.sends++ === 0) firstSends.push(Number(tracked.tag.slice(1)));
              if (tracked.write) assert.equal(tracked.sends, 1, `write ${tracked.tag} was sent twice`);
              wire.push({ request, id });
              return true;
            },
            sizeOf: () => 1,
            unavailableReason: () => (connected ? undefined : 'down'),
          });
          let n = 0;
          for (const e of events) {
            switch (e.kind) {
              case 'call': {
                const tag = `c${n++}`;
                const controller = new AbortController();
                const check = e.held ? deferredCheck() : undefined;
                const tracked: Tracked = { tag, write: e.write, outcome: { settled: 0 }, controller, sends: 0, check };
                calls.set(tag, tracked);
                tracked.outcome = track(
                  table.call(
                    { op: e.write ? 'set' : 'get', tag },
                    { timeoutMs: e.timeoutMs, signal: e.abortable ? controller.signal : undefined },
                    { check: check?.promise },
                  ),
                );
                break;
              }
              case 'check': {
                const held = [...calls.values()].filter((c) => c.check !== undefined);
                const picked = held[e.pick % Math.max(1, held.length)];
                if (e.pass) picked?.check!.pass();
                else picked?.check!.fail(new ConfigSidecarError('VALIDATION_FAILED', 'refused by the check'));
                break;
              }
              case 'connect':
                connected = true;
                table.onConnected();
                break;
              case 'disconnect':
                if (connected) {
                  connected = false;
                  table.onDisconnected('random');
                }
                break;
              case 'respond': {
                const last = wire[e.pick % Math.max(1, wire.length)];
                if (last === undefined) break;
                table.onResponse(last.id, { ok: true, tag: last.request.tag, id: last.id });
                break;
              }
              case 'abort': {
                const all = [...calls.values()];
                all[e.pick % Math.max(1, all.length)]?.controller.abort();
                break;
              }
              case 'tick':
                mock.timers.tick(e.ms);
                break;
            }
            await flush();
            const { queued, inFlight } = table.size;
            const pending = [...calls.values()].filter((c) => c.outcome.settled === 0).length;
            assert.equal(queued + inFlight, pending, 'the table holds exactly the unsettled calls');
          }
          table.close(new ConfigSidecarError(ClientErrorCode.CLOSED, 'closed'));
          await flush();
          for (const c of calls.values()) {
            assert.equal(c.outcome.settled, 1, `${c.tag} settled ${c.outcome.settled} times`);
            const code = c.outcome.error?.code;
            if (code === ClientErrorCode.OUTCOME_UNKNOWN) assert.ok(c.write && c.sends === 1, `${c.tag}: OUTCOME_UNKNOWN for a call never sent`);
            if (c.outcome.value !== undefined) assert.equal(c.outcome.value.tag, c.tag);
          }
          assert.deepEqual(table.size, { queued: 0, inFlight: 0 });
          assert.deepEqual(firstSends, [...firstSends].sort((a, b) => a - b), 'first sends follow call order');
        } finally {
          mock.timers.reset();
        }
      }),
      { numRuns: 2000 },
    );
  });
});
