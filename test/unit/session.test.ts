// One sidecar session over a fake connection, on fake timers: hello first,
// one response per request, connection-level errors answered then closed,
// and every per-connection limit enforced where the protocol says.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { pino } from 'pino';
import {
  DEFAULT_LIMITS,
  ErrorCode,
  FrameDecoder,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeValue,
  encodeFrame,
  encodeMessage,
  type Limits,
  type Request,
  type ServerHello,
} from '../../protocol/index.js';
import { OutboundBudget } from '../../sidecar/net/outbound-budget.js';
import { Session, type SessionHost } from '../../sidecar/net/session.js';
import type { Connection } from '../../sidecar/net/transport.js';

class FakeConnection implements Connection {
  readonly decoder = new FrameDecoder(2 ** 31);
  readonly messages: Record<string, unknown>[] = [];
  writableLength = 0;
  ended = false;
  destroyed = false;
  private flushed: (() => void)[] = [];
  write(data: Buffer, onFlushed?: () => void): void {
    for (const frame of this.decoder.push(Buffer.from(data))) {
      this.messages.push(decodeValue(frame, { maxDepth: 1024, maxArrayLength: 2 ** 32, maxStringBytes: 2 ** 32 }) as Record<string, unknown>);
    }
    if (onFlushed !== undefined) this.flushed.push(onFlushed);
  }
  /** The peer has read everything: the backlog is empty and every write reports it has left. */
  drain(): void {
    this.writableLength = 0;
    for (const onFlushed of this.flushed.splice(0)) onFlushed();
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const HELLO = { type: 'hello', protocol: PROTOCOL_VERSION, client: { name: 'unit', pid: 1 } };

function setup(options: { limits?: Partial<Limits>; handle?: (request: Request) => Promise<Record<string, unknown>> } = {}) {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const connection = new FakeConnection();
  const host: SessionHost = {
    limits,
    log: pino({ level: 'silent' }),
    serverHello: (): ServerHello => ({ type: 'hello', protocol: PROTOCOL_VERSION, server: { version: '0.0.0-test', pid: 2 }, epoch: 'e1', revision: 1, limits }),
    handle: options.handle ?? (async () => ({ epoch: 'e1', revision: 1 })),
    outbound: new OutboundBudget(limits.maxTotalOutboundBytes),
    watchCount: () => 0,
    counters: { slowReaderDisconnects: 0 },
    keepCommitted: () => {},
  };
  let ended = 0;
  const session = new Session(connection, host, () => ended++);
  return {
    connection,
    session,
    send: (message: unknown) => session.onData(encodeMessage(message)),
    endedCount: () => ended,
    /** The connection-level error frame, if one was sent. */
    connectionError: () => connection.messages.find((m) => m.type === 'error') as { type: 'error'; error: { code: string; message: string; details?: unknown } } | undefined,
  };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Session', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('hello is answered with the server hello, then each request gets one response with its id', async () => {
    const s = setup();
    s.send(HELLO);
    s.send({ id: 1, op: 'ping' });
    s.send({ id: 2, op: 'ping' });
    await flush();
    assert.equal(s.connection.messages[0]?.type, 'hello');
    assert.deepEqual(s.connection.messages.slice(1), [
      { epoch: 'e1', revision: 1, id: 1, ok: true },
      { epoch: 'e1', revision: 1, id: 2, ok: true },
    ]);
    assert.equal(s.connection.ended, false);
  });

  test('a handler error is answered as {id, ok: false, error} and the connection stays', async () => {
    const s = setup({ handle: async () => Promise.reject(new ProtocolError(ErrorCode.NOT_FOUND, 'a does not exist', { path: 'a' })) });
    s.send(HELLO);
    s.send({ id: 5, op: 'get', path: 'a' });
    await flush();
    assert.deepEqual(s.connection.messages[1], { id: 5, ok: false, error: { code: 'NOT_FOUND', message: 'a does not exist', details: { path: 'a' } } });
    assert.equal(s.connection.ended, false);
  });

  test('an unexpected handler failure is answered INTERNAL', async () => {
    const s = setup({ handle: async () => Promise.reject(new TypeError('boom')) });
    s.send(HELLO);
    s.send({ id: 5, op: 'stats' });
    await flush();
    assert.deepEqual(s.connection.messages[1], { id: 5, ok: false, error: { code: 'INTERNAL', message: 'boom' } });
  });

  test('no hello within helloTimeoutMs: PROTOCOL error frame, then close', () => {
    const s = setup();
    mock.timers.tick(DEFAULT_LIMITS.helloTimeoutMs - 1);
    assert.equal(s.connection.ended, false);
    mock.timers.tick(1);
    assert.deepEqual(s.connectionError()?.error, {
      code: 'PROTOCOL',
      message: 'no hello within 5000 ms (helloTimeoutMs)',
      details: { limit: 'helloTimeoutMs', max: 5000 },
    });
    assert.equal(s.connection.ended, true);
    assert.equal(s.endedCount(), 1);
  });

  test('an unsupported protocol version: UNSUPPORTED_VERSION naming the supported ones, then close', () => {
    const s = setup();
    s.send({ ...HELLO, protocol: 2 });
    assert.deepEqual(s.connectionError()?.error, {
      code: 'UNSUPPORTED_VERSION',
      message: 'protocol 2 is not supported; this sidecar speaks 1',
      details: { supported: [1] },
    });
    assert.equal(s.connection.ended, true);
  });

  test('a first frame that is not a hello: PROTOCOL, then close', () => {
    const s = setup();
    s.send({ id: 1, op: 'ping' });
    assert.equal(s.connectionError()?.error.code, 'PROTOCOL');
    assert.match(s.connectionError()!.error.message, /^the first frame must be hello/);
    assert.equal(s.connection.ended, true);
  });

  test('a frame header above maxFrameBytes: FRAME_TOO_LARGE at once, before any payload, then close', () => {
    const s = setup();
    s.send(HELLO);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(DEFAULT_LIMITS.maxFrameBytes + 1);
    s.session.onData(header);
    assert.deepEqual(s.connectionError()?.error, {
      code: 'FRAME_TOO_LARGE',
      message: 'frame of 1048577 bytes exceeds the frame limit of 1048576 bytes (maxFrameBytes)',
      details: { limit: 'maxFrameBytes', max: 1048576, actual: 1048577 },
    });
    assert.equal(s.connection.ended, true);
  });

  test('a bad payload whose id came first is answered on that id, and the connection stays', async () => {
    const s = setup();
    s.send(HELLO);
    s.session.onData(encodeFrame(Buffer.from([0x82, 0xa2, 0x69, 0x64, 0x09, 0xa5, 0x76, 0x61, 0x6c, 0x75, 0x65, 0xc1])));
    s.send({ id: 10, op: 'ping' });
    await flush();
    assert.deepEqual(s.connection.messages[1], { id: 9, ok: false, error: { code: 'PROTOCOL', message: 'invalid msgpack byte 0xc1 at "value"' } });
    assert.equal(s.connection.messages[2]?.id, 10);
    assert.equal(s.connection.ended, false);
  });

  test('a bad payload without a known id is a connection error', () => {
    const s = setup();
    s.send(HELLO);
    s.session.onData(encodeFrame(Buffer.from([0xc1])));
    assert.equal(s.connectionError()?.error.code, 'PROTOCOL');
    assert.equal(s.connection.ended, true);
  });

  test('an invalid request with a usable id is BAD_REQUEST on that id, listing the issues', async () => {
    const s = setup();
    s.send(HELLO);
    s.send({ id: 3, op: 'get' });
    s.send({ id: 4, op: 'no-such-op', path: 'a' });
    await flush();
    const [, missingPath, unknownOp] = s.connection.messages as { id: number; ok: boolean; error: { code: string; details: { issues: unknown[] } } }[];
    assert.equal(missingPath?.id, 3);
    assert.equal(missingPath?.error.code, 'BAD_REQUEST');
    assert.ok(missingPath!.error.details.issues.length > 0);
    assert.equal(unknownOp?.id, 4);
    assert.equal(unknownOp?.error.code, 'BAD_REQUEST');
    assert.equal(s.connection.ended, false);
  });

  test('an invalid request without a usable id is a connection error', () => {
    const s = setup();
    s.send(HELLO);
    s.send({ op: 'ping' });
    assert.equal(s.connectionError()?.error.code, 'BAD_REQUEST');
    assert.equal(s.connection.ended, true);
  });

  test('requests beyond maxInFlightPerConnection are answered LIMIT_EXCEEDED; the rest complete', async () => {
    const releases: (() => void)[] = [];
    const s = setup({
      limits: { maxInFlightPerConnection: 2 },
      handle: () => new Promise((resolve) => releases.push(() => resolve({ epoch: 'e1', revision: 1 }))),
    });
    s.send(HELLO);
    for (const id of [1, 2, 3]) s.send({ id, op: 'ping' });
    assert.deepEqual(s.connection.messages[1], {
      id: 3,
      ok: false,
      error: { code: 'LIMIT_EXCEEDED', message: 'more than maxInFlightPerConnection 2 requests in flight', details: { limit: 'maxInFlightPerConnection', max: 2 } },
    });
    for (const release of releases) release();
    await flush();
    assert.deepEqual(s.connection.messages.slice(2).map((m) => m.id), [1, 2]);
  });

  test('a partial frame left unfinished for partialFrameIdleMs: LIMIT_EXCEEDED, then close', () => {
    const s = setup();
    s.send(HELLO);
    s.session.onData(encodeMessage({ id: 1, op: 'ping' }).subarray(0, 5));
    mock.timers.tick(DEFAULT_LIMITS.partialFrameIdleMs);
    assert.deepEqual(s.connectionError()?.error, {
      code: 'LIMIT_EXCEEDED',
      message: 'a partial frame was left unfinished for 10000 ms (partialFrameIdleMs)',
      details: { limit: 'partialFrameIdleMs', max: 10000 },
    });
    assert.equal(s.connection.ended, true);
  });

  test('a partial frame completed in time cancels the idle timer', () => {
    const s = setup();
    s.send(HELLO);
    const frame = encodeMessage({ id: 1, op: 'ping' });
    s.session.onData(frame.subarray(0, 5));
    mock.timers.tick(DEFAULT_LIMITS.partialFrameIdleMs - 1);
    s.session.onData(frame.subarray(5));
    mock.timers.tick(DEFAULT_LIMITS.partialFrameIdleMs * 2);
    assert.equal(s.connectionError(), undefined);
    assert.equal(s.connection.ended, false);
  });

  test(
    'a steady pipelined stream whose chunks always end mid-frame is not closed as idle',
    () => {
      const s = setup();
      s.send(HELLO);
      // Every 500 ms a chunk completes the previous request and starts the next one.
      const frames = Array.from({ length: 40 }, (_, i) => encodeMessage({ id: i + 1, op: 'ping' }));
      const stream = Buffer.concat(frames);
      const chunk = frames[0]!.length;
      for (let i = 0; i < 40; i++) {
        s.session.onData(stream.subarray(i * chunk + (i === 0 ? 0 : 3), (i + 1) * chunk + 3));
        mock.timers.tick(500);
      }
      assert.equal(s.connectionError(), undefined, `closed after ${JSON.stringify(s.connectionError())}`);
      assert.equal(s.connection.ended, false);
    },
  );

  test('a watch event that would take the backlog past maxOutboundBytes disconnects the reader', () => {
    const s = setup({ limits: { maxOutboundBytes: 1000 } });
    s.send(HELLO);
    s.connection.writableLength = 990;
    s.session.push({ type: 'event', watchId: 1, revision: 2, source: 'client', changes: [{ path: ['a'], value: 1 }] });
    assert.equal(s.connection.destroyed, true);
    assert.equal(s.endedCount(), 1);
  });

  test('answers to a reader whose backlog is over maxOutboundBytes are held, then sent in order as it drains', async () => {
    const s = setup({ limits: { maxOutboundBytes: 1000 } });
    s.send(HELLO);
    s.connection.writableLength = 1001;
    for (let id = 1; id <= 3; id++) s.send({ id, op: 'ping' });
    await flush();
    assert.equal(s.connection.messages.length, 1, 'only the hello went out');
    assert.equal(s.connection.destroyed, false, 'asking for answers is not reading slowly');
    s.connection.drain();
    assert.deepEqual(s.connection.messages.slice(1).map((m) => m.id), [1, 2, 3]);
  });

  test('more held answers than maxInFlightPerConnection: the reader is not reading, and is disconnected', async () => {
    const s = setup({ limits: { maxOutboundBytes: 1000, maxInFlightPerConnection: 2 } });
    s.send(HELLO);
    s.connection.writableLength = 1001;
    s.send({ id: 1, op: 'ping' });
    s.send({ id: 2, op: 'ping' });
    await flush();
    assert.equal(s.connection.destroyed, false);
    s.send({ id: 3, op: 'ping' });
    await flush();
    assert.equal(s.connection.destroyed, true);
    assert.equal(s.endedCount(), 1);
  });

  test('a watch event behind held answers disconnects the reader (it would arrive before them)', async () => {
    const s = setup({ limits: { maxOutboundBytes: 1000 } });
    s.send(HELLO);
    s.connection.writableLength = 1001;
    s.send({ id: 1, op: 'ping' });
    await flush();
    s.connection.writableLength = 0;
    s.session.push({ type: 'event', watchId: 1, revision: 2, source: 'client', changes: [] });
    assert.equal(s.connection.destroyed, true);
  });

  test('a graceful end sends the held answers that fit within maxOutboundBytes before closing', async () => {
    const s = setup({ limits: { maxOutboundBytes: 1000 } });
    s.send(HELLO);
    s.connection.writableLength = 1001;
    s.send({ id: 1, op: 'ping' });
    await flush();
    s.connection.writableLength = 500; // the peer read some, and no write has reported yet
    s.session.end();
    assert.equal(s.connection.messages.at(-1)?.id, 1);
    assert.equal(s.connection.ended, true);
  });

  test('a graceful end drops the held answers beyond maxOutboundBytes with the connection, instead of encoding them all at once', async () => {
    const s = setup({ limits: { maxOutboundBytes: 1000 } });
    s.send(HELLO);
    s.connection.writableLength = 1001;
    for (let id = 1; id <= 10; id++) s.send({ id, op: 'ping' });
    await flush();
    const before = s.connection.messages.length;
    s.session.end();
    assert.equal(s.connection.messages.length, before, 'nothing beyond the bound was encoded');
    assert.equal(s.connection.ended, true);
  });

  test(
    'a single large response (a get of a document within maxDocumentBytes) is sent to a reader with an empty buffer',
    async () => {
      // About 9 MiB of strings, each within maxStringBytes: a document the store accepts (JSON text < 16 MiB).
      const value = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'x'.repeat(DEFAULT_LIMITS.maxStringBytes - 64)]));
      const s = setup({ handle: async () => ({ epoch: 'e1', revision: 1, value, modRevision: 1 }) });
      s.send(HELLO);
      s.send({ id: 1, op: 'get', path: '' });
      await flush();
      assert.equal(s.connection.destroyed, false);
      assert.equal(s.connection.messages[1]?.id, 1);
    },
  );
});
