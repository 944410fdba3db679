// The hostile inputs of docs/defects.md, D20, each an attack on a fresh connection
// that checks its own answer: run one by one by test/chaos/hostile-input.test.ts,
// and over and over by test/helpers/attacker.ts while a well-behaved client's
// latency is measured. Also the connection flood, for both.
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, encodeMessage, type Limits } from '../../protocol/index.js';
import { framed, header, key, packed, raw, requestWithRawEntry, setWithRawValue } from './msgpack-bytes.js';
import { rawConnect, type RawPeer } from './raw-socket.js';

/** Where the sidecar under attack listens. */
export interface Target {
  socketPath: string;
}

/** One attack: throws (an assertion) when the sidecar's answer is not the expected one. */
export type Attack = (target: Target) => Promise<void>;

export interface WireErrorLike {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}
export const errorOf = (frame: Record<string, unknown>): WireErrorLike => frame.error as WireErrorLike;

// The attacked sidecar runs with these (serve --limit): few enough connections for a flood to fill,
// a partial-frame limit short enough to wait for.
export const LIMITS: Limits = { ...DEFAULT_LIMITS, maxConnections: 200, partialFrameIdleMs: 500 };

/** A connection that has said hello. */
export async function greeted(target: Target): Promise<RawPeer> {
  const peer = await rawConnect(target.socketPath);
  const hello = await peer.hello();
  assert.equal(hello.type, 'hello', JSON.stringify(hello));
  return peer;
}

/** The sidecar answers `bytes` on a connection-level error frame and closes. */
export async function refusedAndClosed(peer: RawPeer, bytes: Buffer, code: string, pattern: RegExp): Promise<WireErrorLike> {
  peer.write(bytes);
  const frame = await peer.next();
  assert.equal(frame.type, 'error', `a connection-level error, not ${JSON.stringify(frame)}`);
  const error = errorOf(frame);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, pattern);
  await peer.closed();
  return error;
}

/** The sidecar answers the request in `bytes` (id `id`) with an error and keeps the connection. */
export async function answeredAndKept(peer: RawPeer, bytes: Buffer, id: number, code: string, pattern: RegExp): Promise<WireErrorLike> {
  peer.write(bytes);
  const frame = await peer.next();
  assert.equal(frame.id, id, JSON.stringify(frame));
  assert.equal(frame.ok, false);
  const error = errorOf(frame);
  assert.equal(error.code, code, error.message);
  assert.match(error.message, pattern);
  assert.equal((await peer.request({ id: id + 1000, op: 'ping' })).ok, true, 'the connection is kept');
  return error;
}

export const FORBIDDEN = ['__proto__', 'constructor', 'prototype'] as const;

/**
 * Each attack on a fresh connection, checking its own answer. They run once each as
 * their own tests, then all together while the latency of a well-behaved client is measured.
 */
export const attacks: Record<string, Attack> = {
  'a length prefix of 2^32-1 before hello: FRAME_TOO_LARGE from the header alone': async (target) => {
    const error = await refusedAndClosed(await rawConnect(target.socketPath), header(2 ** 32 - 1), 'FRAME_TOO_LARGE', /maxFrameBytes/);
    assert.deepEqual(error.details, { limit: 'maxFrameBytes', max: LIMITS.maxFrameBytes, actual: 2 ** 32 - 1 });
  },
  'a length prefix of maxFrameBytes + 1 after hello: FRAME_TOO_LARGE, no payload needed': async (target) => {
    const error = await refusedAndClosed(await greeted(target), header(LIMITS.maxFrameBytes + 1), 'FRAME_TOO_LARGE', /maxFrameBytes/);
    assert.equal(error.details?.actual, LIMITS.maxFrameBytes + 1);
  },
  'a length prefix of 0: PROTOCOL (an empty frame), before and after hello': async (target) => {
    await refusedAndClosed(await rawConnect(target.socketPath), header(0), 'PROTOCOL', /empty frame/);
    await refusedAndClosed(await greeted(target), header(0), 'PROTOCOL', /empty frame/);
  },
  'a truncated frame then FIN: the sidecar closes its side and forgets the connection': async (target) => {
    const peer = await greeted(target);
    peer.write(raw(header(100), encodeMessage({ id: 1, op: 'ping' }).subarray(4)));
    peer.end();
    await peer.closed();
    const early = await rawConnect(target.socketPath);
    early.write(header(50).subarray(0, 2));
    early.end();
    await early.closed();
  },
  '100,000 nested arrays: LIMIT_EXCEEDED (maxDepth) at once; in a set value with its id first, answered and the connection kept': async (target) => {
    const bomb = raw(Buffer.alloc(100_000, 0x91), [0xc0]);
    const started = performance.now();
    await refusedAndClosed(await greeted(target), framed(bomb), 'LIMIT_EXCEEDED', /maxDepth/);
    const peer = await greeted(target);
    const error = await answeredAndKept(peer, setWithRawValue(7, bomb), 7, 'LIMIT_EXCEEDED', /maxDepth/);
    assert.equal(error.details?.limit, 'maxDepth');
    peer.destroy();
    assert.ok(performance.now() - started < 2000, 'refused without walking the whole bomb');
  },
  'an array16 length bomb: 65,535 entries claimed in a few bytes is PROTOCOL (truncated), answered on its id': async (target) => {
    const peer = await greeted(target);
    await answeredAndKept(peer, setWithRawValue(8, [0xdc, 0xff, 0xff, 0xc0, 0xc0]), 8, 'PROTOCOL', /65535 entries/);
    // 6 KB of nested array16 headers, each claiming 65,535: fails on the first, names where.
    await answeredAndKept(peer, setWithRawValue(9, Buffer.alloc(6144, Buffer.from([0xdc, 0xff, 0xff]))), 9, 'PROTOCOL', /truncated/);
    peer.destroy();
  },
  'str32, map32 and array32 headers claiming 4 GiB: LIMIT_EXCEEDED naming the limit, nothing allocated': async (target) => {
    const peer = await greeted(target);
    const str = await answeredAndKept(peer, setWithRawValue(10, 'dbffffffff61'), 10, 'LIMIT_EXCEEDED', /maxStringBytes/);
    assert.deepEqual(str.details, { limit: 'maxStringBytes', max: LIMITS.maxStringBytes, actual: 2 ** 32 - 1 });
    const map = await answeredAndKept(peer, setWithRawValue(11, 'dfffffffff'), 11, 'LIMIT_EXCEEDED', /maxArrayLength/);
    assert.deepEqual(map.details, { limit: 'maxArrayLength', max: LIMITS.maxArrayLength, actual: 2 ** 32 - 1 });
    await answeredAndKept(peer, setWithRawValue(12, 'ddffffffff'), 12, 'LIMIT_EXCEEDED', /maxArrayLength/);
    // A str32 key claiming 4 GiB, and a whole request that is a map32 claim.
    await answeredAndKept(peer, setWithRawValue(13, '81dbffffffff'), 13, 'LIMIT_EXCEEDED', /maxStringBytes/);
    await refusedAndClosed(peer, framed('dfffffffff'), 'LIMIT_EXCEEDED', /maxArrayLength/);
  },
  'unknown msgpack extensions (fixext, ext8/16/32, timestamp): BAD_REQUEST naming the extension, answered on the id': async (target) => {
    const peer = await greeted(target);
    const extensions = ['d44201', 'd5420102', 'd64201020304', 'd7ff0000000000000000', 'd842' + '00'.repeat(16), 'c70142ff', 'c8000142ff', 'c9ffffffff42', 'd6ff00000000'];
    for (const [i, ext] of extensions.entries()) await answeredAndKept(peer, setWithRawValue(20 + i, ext), 20 + i, 'BAD_REQUEST', /extension type/);
    peer.destroy();
  },
  'trailing bytes after a frame\'s map: PROTOCOL, answered on the id it carried': async (target) => {
    const peer = await greeted(target);
    await answeredAndKept(peer, framed(encodeMessage({ id: 40, op: 'ping' }).subarray(4), [0xc0, 0xc0]), 40, 'PROTOCOL', /2 trailing bytes/);
    peer.destroy();
  },
  'forbidden keys in values (top, nested, in arrays, in batch ops): BAD_REQUEST naming the key and where, nothing stored or renamed': async (target) => {
    const peer = await greeted(target);
    for (const [i, word] of FORBIDDEN.entries()) {
      const top = await answeredAndKept(peer, setWithRawValue(50 + i, raw([0x81], key(word), [0x81], key('polluted'), [0xc3]), 'victim'), 50 + i, 'BAD_REQUEST', new RegExp(word));
      assert.deepEqual(top.details, { key: word });
      const nested = await answeredAndKept(peer, setWithRawValue(60 + i, raw([0x81], key('a'), [0x91, 0x81], key(word), [0x01]), 'victim'), 60 + i, 'BAD_REQUEST', new RegExp(`"${word}".*"value\\.a\\.0\\.${word}"`));
      assert.equal(nested.details?.key, word);
      const batch = framed([0x83], key('id'), packed(70 + i), key('op'), key('batch'), key('ops'), [0x91, 0x83], key('op'), key('set'), key('path'), key('victim'), key('value'), [0x81], key(word), [0xc3]);
      await answeredAndKept(peer, batch, 70 + i, 'BAD_REQUEST', new RegExp(`"ops\\.0\\.value\\.${word}"`));
      // As a key of the request itself (the id came first).
      await answeredAndKept(peer, requestWithRawEntry(80 + i, 'ping', key(word), [0xc3]), 80 + i, 'BAD_REQUEST', new RegExp(word));
    }
    const missing = await peer.request({ id: 90, op: 'get', path: 'victim' });
    assert.equal(errorOf(missing).code, 'NOT_FOUND', 'nothing was stored, under the key or a renamed one');
    peer.destroy();
  },
  'forbidden segments in paths of every op (dot and array form): BAD_REQUEST naming the segment': async (target) => {
    const peer = await greeted(target);
    let id = 100;
    for (const word of FORBIDDEN) {
      for (const path of [`a.${word}.polluted`, [word, 'polluted'], `${word}`]) {
        const requests = [
          { op: 'get', path },
          { op: 'set', path, value: true },
          { op: 'delete', path },
          { op: 'watch', path },
          { op: 'batch', ops: [{ op: 'set', path: 'ok', value: 1 }, { op: 'set', path, value: true }] },
        ];
        for (const request of requests) {
          const answer = await peer.request({ id: ++id, ...request });
          assert.equal(answer.id, id);
          assert.equal(errorOf(answer).code, 'BAD_REQUEST', JSON.stringify(answer));
          assert.match(errorOf(answer).message, new RegExp(`segment "${word}" is forbidden`));
        }
      }
    }
    assert.equal(errorOf(await peer.request({ id: ++id, op: 'get', path: 'ok' })).code, 'NOT_FOUND', 'no batch was half applied');
    peer.destroy();
  },
  'a forbidden key in the hello: BAD_REQUEST naming it, then close': async (target) => {
    const hello = framed([0x83], key('type'), key('hello'), key('protocol'), [0x01], key('client'), [0x83], key('name'), key('x'), key('pid'), [0x01], key('__proto__'), [0x80]);
    await refusedAndClosed(await rawConnect(target.socketPath), hello, 'BAD_REQUEST', /__proto__/);
  },
  'a slowloris partial frame, one byte at a time: closed after partialFrameIdleMs with LIMIT_EXCEEDED': async (target) => {
    const peer = await greeted(target);
    const frame = encodeMessage({ id: 1, op: 'set', path: 'slow', value: 'x'.repeat(200) });
    const started = performance.now();
    let sent = 0;
    // Bytes keep arriving, but no frame completes: progress is a completed frame, not a byte.
    const drip = setInterval(() => peer.write(frame.subarray(sent, ++sent)), 50);
    try {
      const frameSeen = await peer.next(LIMITS.partialFrameIdleMs + 5000);
      const waited = performance.now() - started;
      assert.equal(errorOf(frameSeen).code, 'LIMIT_EXCEEDED');
      assert.match(errorOf(frameSeen).message, /partialFrameIdleMs/);
      assert.ok(waited >= LIMITS.partialFrameIdleMs - 10 && sent < frame.length, `closed after ${Math.round(waited)} ms, ${sent} bytes`);
    } finally {
      clearInterval(drip);
    }
    await peer.closed();
  },
};


/**
 * Connects, retrying while the kernel's accept backlog is full: a Unix socket connect() then fails at once
 * with EAGAIN, before the sidecar could see the connection (its clients retry the same way).
 */
export async function connectThroughBacklog(target: Target): Promise<{ peer: RawPeer; backlogRetries: number }> {
  for (let retries = 0; ; retries++) {
    try {
      return { peer: await rawConnect(target.socketPath), backlogRetries: retries };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EAGAIN' || retries >= 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  }
}

export interface FloodOutcome {
  served: RawPeer[];
  refused: number;
  /** Closed without an answer: must never happen. */
  silent: number;
  /** Connect attempts the kernel turned away (EAGAIN) before they reached the sidecar, and were retried. */
  backlogRetries: number;
}

/** Opens `count` connections at once, each saying hello; served ones are left open. */
export async function flood(target: Target, count: number): Promise<FloodOutcome> {
  let backlogRetries = 0;
  const outcomes = await Promise.all(
    Array.from({ length: count }, async () => {
      const connected = await connectThroughBacklog(target);
      backlogRetries += connected.backlogRetries;
      const peer = connected.peer;
      const frame = await peer.hello().catch((error: Error) => ({ type: 'closed', reason: error.message }));
      if (frame.type === 'hello') return { peer, kind: 'served' as const };
      if (frame.type === 'error') {
        const error = errorOf(frame as Record<string, unknown>);
        assert.equal(error.code, 'LIMIT_EXCEEDED');
        assert.match(error.message, /maxConnections/);
        await peer.closed();
        return { peer, kind: 'refused' as const };
      }
      return { peer, kind: 'silent' as const };
    }),
  );
  for (const outcome of outcomes) if (outcome.kind !== 'served') outcome.peer.destroy();
  return {
    served: outcomes.filter((o) => o.kind === 'served').map((o) => o.peer),
    refused: outcomes.filter((o) => o.kind === 'refused').length,
    silent: outcomes.filter((o) => o.kind === 'silent').length,
    backlogRetries,
  };
}

