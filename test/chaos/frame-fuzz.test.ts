// Fuzzing the decoder and the dispatcher with the golden corpus as seed: the
// corpus (test/fixtures/frames) is first replayed against a real sidecar, each
// frame getting the answer its manifest records; then mutated corpus frames,
// random requests and random framing go to the same sidecar, and every answer
// must be a well-formed response or error frame, never INTERNAL, never a silent
// close, with the sidecar serving on. Runs are bounded (a few seconds); a
// failure prints the seed, and FUZZ_SEED=<seed> replays it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { connect } from '../../client/index.js';
import {
  DEFAULT_LIMITS,
  DecodeError,
  ERROR_CODES,
  FrameDecoder,
  ServerHelloSchema,
  ServerMessageSchema,
  decodeValue,
  encodeFrame,
  encodeMessage,
} from '../../protocol/index.js';
import { jsonValue } from '../fixtures/json-values.js';
import { rawConnect } from '../helpers/raw-socket.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PROBE_ID = 2 ** 32 - 1;

// ---- the corpus ----------------------------------------------------------------

interface CorpusCase {
  file: string;
  what: string;
  direction: 'client-to-sidecar' | 'sidecar-to-client';
  schema: string;
  expect: { ok: true; value: unknown } | { ok: false; stage: string; code?: string; requestId?: number; value?: unknown };
  bytes: Buffer;
}

const dir = new URL('../../../test/fixtures/frames/', import.meta.url);
const corpus: CorpusCase[] = (JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { cases: Omit<CorpusCase, 'bytes'>[] }).cases.map((c) => ({
  ...c,
  bytes: Buffer.from(
    readFileSync(new URL(c.file, dir), 'utf8')
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  ),
}));
const requests = corpus.filter((c) => c.direction === 'client-to-sidecar' && c.schema === 'request');
/** Payloads (after the length prefix) of every whole frame in the corpus: the seeds of the mutations. */
const seedPayloads = corpus.filter((c) => c.bytes.length > 4 && c.bytes.readUInt32BE(0) === c.bytes.length - 4).map((c) => c.bytes.subarray(4));

// ---- what a connection saw -----------------------------------------------------------

interface Exchange {
  frames: Record<string, unknown>[];
  closed: boolean;
}

/**
 * On a fresh connection: hello, then `bytes`, then (unless `thenEnd`) a ping with PROBE_ID. Collects every
 * frame until the ping and each of `answerIds` are answered (writes are answered once durable, so after
 * the ping), or the connection closes.
 */
async function exchange(paths: TestPaths, bytes: Buffer, answerIds: readonly number[], thenEnd = false): Promise<Exchange> {
  const peer = await rawConnect(paths.socketPath);
  try {
    assert.equal(ServerHelloSchema.safeParse(await peer.hello()).success, true);
    peer.write(bytes);
    if (thenEnd) peer.end();
    else peer.write(encodeMessage({ id: PROBE_ID, op: 'ping' }));
    const waiting = new Set(thenEnd ? answerIds : [...answerIds, PROBE_ID]);
    const frames: Record<string, unknown>[] = [];
    while (waiting.size > 0 || thenEnd) {
      const frame = await peer.next(10_000).catch((error: Error) => {
        if (peer.isClosed) return undefined;
        throw error;
      });
      if (frame === undefined) return { frames, closed: true };
      frames.push(frame);
      if (frame.type === undefined && typeof frame.id === 'number') waiting.delete(frame.id);
    }
    return { frames, closed: false };
  } finally {
    peer.destroy();
  }
}

/** The id the sidecar can answer a payload on (session.ts: a decoded, answerable id, or the id read before a decode error). */
function answerableId(payload: Buffer): number | undefined {
  let message: unknown;
  try {
    message = decodeValue(payload, DEFAULT_LIMITS);
  } catch (error) {
    assert.ok(error instanceof DecodeError);
    return error.requestId;
  }
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

/** Every frame is a well-formed server message; no INTERNAL; a close is explained by an error frame unless we hung up first. */
function assertWellFormed(seen: Exchange, weHungUp: boolean, what: string): void {
  for (const frame of seen.frames) {
    const parsed = ServerMessageSchema.safeParse(frame);
    assert.ok(parsed.success, `${what}: not a well-formed server message: ${JSON.stringify(frame)}`);
    const error = frame.error as { code: string } | undefined;
    if (error !== undefined) {
      assert.ok(ERROR_CODES.includes(error.code as never), `${what}: unknown code ${error.code}`);
      assert.notEqual(error.code, 'INTERNAL', `${what}: ${JSON.stringify(frame)}`);
    }
  }
  if (seen.closed && !weHungUp) {
    assert.equal(seen.frames.at(-1)?.type, 'error', `${what}: closed without a connection error; saw ${JSON.stringify(seen.frames)}`);
  }
}

// ---- mutations -----------------------------------------------------------------------

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), byte: fc.constant(0) }),
  // Bytes that carry meaning in msgpack: length headers, extensions, the never-used 0xc1.
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.constantFrom(0xc1, 0xc7, 0xd4, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff, 0x00, 0x7f, 0x80, 0x90) }),
);

function mutate(payload: Buffer, mutations: { kind: 'flip' | 'insert' | 'delete' | 'truncate'; at: number; byte: number }[]): Buffer {
  let bytes = [...payload];
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.kind === 'flip') bytes[at] = m.byte;
    else if (m.kind === 'insert') bytes.splice(at, 0, m.byte);
    else if (m.kind === 'delete') bytes.splice(at, 1);
    else bytes = bytes.slice(0, at);
  }
  return Buffer.from(bytes);
}

const mutatedPayload = fc.tuple(fc.constantFrom(...seedPayloads), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([payload, m]) => mutate(payload, m));

// ---- requests the dispatcher may get ------------------------------------------------

const segment = fc.oneof(fc.constantFrom('a', 'b', 'list', '0', '1', '7', '__proto__', 'constructor', 'prototype', ''), fc.string({ maxLength: 4 }));
const path = fc.oneof(fc.array(segment, { maxLength: 4 }).map((s) => s.join('.')), fc.array(segment, { maxLength: 4 }));
const revision = fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined });
const writeOp = fc.oneof(
  fc.record({ op: fc.constant('set'), path, value: jsonValue({ maxDepth: 3 }), ifModRevision: revision }, { requiredKeys: ['op', 'path', 'value'] }),
  fc.record({ op: fc.constant('delete'), path, ifModRevision: revision }, { requiredKeys: ['op', 'path'] }),
);
const request = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.record({ op: fc.constant('get'), path }) },
      { weight: 3, arbitrary: writeOp },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('batch'), ops: fc.array(writeOp, { maxLength: 4 }) }) },
      fc.record({ op: fc.constantFrom('ping', 'health', 'stats') }),
      fc.record(
        { op: fc.constant('watch'), path, startRevision: revision, epoch: fc.option(fc.constantFrom('0000000000000000', ''), { nil: undefined }), initial: fc.option(fc.constantFrom('snapshot', 'none', 'full'), { nil: undefined }) },
        { requiredKeys: ['op', 'path'] },
      ),
      fc.record({ op: fc.constant('unwatch'), watchId: fc.integer({ min: -1, max: 5 }) }),
      // Now and then something the schema refuses: an unknown op or field, a wrong type.
      fc.record({ op: fc.constantFrom('no-such-op', 'GET', ''), path }),
      fc.record({ op: fc.constant('get'), path: fc.oneof(fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })) }),
    ),
    fc.integer({ min: 0, max: 1_000_000 }),
    // One request in ten carries a field the strict envelope refuses.
    fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.record({ extra: fc.jsonValue({ maxDepth: 1 }) }) }),
  )
  .map(([body, id, extra]) => ({ id, ...body, ...extra }));

// ---- the tests ------------------------------------------------------------------------

test('the decoder, in process: mutated corpus frames decode to plain values or fail with a wire code; framing is the same however bytes are split', () => {
  fc.assert(
    fc.property(mutatedPayload, (payload) => {
      try {
        decodeValue(payload, DEFAULT_LIMITS);
      } catch (error) {
        assert.ok(error instanceof DecodeError, `threw ${String(error)}`);
        assert.ok(['PROTOCOL', 'BAD_REQUEST', 'LIMIT_EXCEEDED'].includes(error.code), error.code);
      }
    }),
    { seed, numRuns: 3000 },
  );
  const stream = Buffer.concat(requests.filter((c) => c.expect.ok).map((c) => c.bytes));
  const whole = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes).push(stream).map((f) => f.toString('hex'));
  fc.assert(
    fc.property(fc.array(fc.nat(stream.length), { maxLength: 40 }), (cuts) => {
      const decoder = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes);
      const points = [...new Set([0, ...cuts, stream.length])].sort((a, b) => a - b);
      const frames = points.slice(1).flatMap((end, i) => decoder.push(stream.subarray(points[i], end)));
      assert.deepEqual(frames.map((f) => f.toString('hex')), whole);
      assert.equal(decoder.hasPartialFrame, false);
    }),
    { seed, numRuns: 500 },
  );
});

test('a real sidecar under the replayed corpus and fuzzed frames: every answer well-formed, never INTERNAL, the sidecar serving on', async (t) => {
  t.diagnostic(`fast-check seed ${seed} (replay with FUZZ_SEED=${seed})`);
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths);

  await t.test('every client frame of the corpus gets the answer its manifest records', async () => {
    for (const c of corpus.filter((each) => each.direction === 'client-to-sidecar')) {
      const what = `${c.file}: ${c.what}`;
      if (c.schema === 'clientHello') {
        const peer = await rawConnect(paths.socketPath);
        peer.write(c.bytes);
        const answer = await peer.next();
        if (c.expect.ok) assert.equal(ServerHelloSchema.safeParse(answer).success, true, what);
        else {
          assert.equal(answer.type, 'error', what);
          assert.equal((answer.error as { code: string }).code, c.expect.code, what);
          await peer.closed();
        }
        peer.destroy();
        continue;
      }
      const expect = c.expect;
      const incomplete = !expect.ok && expect.stage === 'incomplete';
      const id = expect.ok ? (expect.value as { id: number }).id : expect.stage === 'path' ? (expect.value as { id: number }).id : expect.requestId;
      const seen = await exchange(paths, c.bytes, id === undefined ? [] : [id], incomplete);
      assertWellFormed(seen, incomplete, what);
      if (incomplete) {
        assert.deepEqual(seen.frames, [], `${what}: nothing is answered for a frame still arriving`);
        continue;
      }
      if (id === undefined) {
        // Nothing to answer it on: a connection error with the recorded code, then close.
        assert.equal(seen.closed, true, what);
        assert.deepEqual(seen.frames.map((f) => (f.error as { code: string }).code), [expect.ok ? '' : expect.code], what);
        continue;
      }
      assert.equal(seen.closed, false, `${what}: the connection is kept`);
      const answer = seen.frames.find((f) => f.id === id);
      assert.ok(answer !== undefined, `${what}: answered on id ${id}; saw ${JSON.stringify(seen.frames)}`);
      if (expect.ok) {
        // A good request may still be refused for the state it meets (a conflict, a missing path, a document
        // limit: the depth-63 value is fine on the wire but one level too deep to store), never for its form.
        const error = answer.error as { code: string; details?: { limit?: string } } | undefined;
        const byState = ['CONFLICT', 'NOT_FOUND'].includes(error?.code ?? '') || (error?.code === 'LIMIT_EXCEEDED' && error.details?.limit === 'maxDepth');
        assert.ok(error === undefined || byState, `${what}: ${JSON.stringify(answer)}`);
      } else {
        assert.equal((answer.error as { code: string }).code, expect.code, `${what}: ${JSON.stringify(answer)}`);
      }
    }
  });

  await t.test('mutated corpus frames (each in a correct frame): answered or refused with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedPayload, async (payload) => {
        if (payload.length === 0) return;
        const id = answerableId(payload);
        const seen = await exchange(paths, encodeFrame(payload), id === undefined ? [] : [id]);
        assertWellFormed(seen, false, `payload ${payload.toString('hex')}`);
        // With an id to answer on, the answer comes and the connection stays; without, a connection error closes it.
        if (id !== undefined) assert.equal(seen.closed, false, `payload ${payload.toString('hex')}: ${JSON.stringify(seen.frames)}`);
      }),
      { seed, numRuns: 250 },
    );
  });

  await t.test('random requests through the dispatcher: one well-formed answer on their id, never INTERNAL', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (message) => {
        const seen = await exchange(paths, encodeMessage(message), [message.id]);
        assertWellFormed(seen, false, JSON.stringify(message));
        assert.equal(seen.closed, false, `${JSON.stringify(message)}: the connection is kept`);
        assert.equal(seen.frames.filter((f) => f.id === message.id && f.type === undefined).length, 1, `${JSON.stringify(message)}: ${JSON.stringify(seen.frames)}`);
      }),
      { seed, numRuns: 250 },
    );
  });

  await t.test('random bytes on the stream, any length prefix, then FIN: never a malformed frame, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutatedPayload.map((p) => Buffer.concat([Buffer.from([0, 0, 0, p.length & 0xff]), p]))), async (bytes) => {
        assertWellFormed(await exchange(paths, Buffer.from(bytes), [], true), true, Buffer.from(bytes).toString('hex'));
      }),
      { seed, numRuns: 100 },
    );
  });

  await t.test('the sidecar survived it all: a client reads and writes, health ok, nothing failed unexpectedly', async () => {
    const client = connect({ socketPath: paths.socketPath, name: 'after-fuzz' });
    try {
      await client.set('after', 'fuzz');
      assert.equal(await client.get('after'), 'fuzz');
      assert.equal((await client.health()).status, 'ok');
    } finally {
      client.close();
    }
    assert.equal(sidecar.child.exitCode, null);
    assert.doesNotMatch(sidecar.stderr(), /request failed unexpectedly/);
  });
});
