// Replays the committed golden corpus (test/fixtures/frames/) through
// FrameDecoder, decodeValue and the message schemas, the way each side of a
// connection would. Good frames must decode to the recorded value and encode
// back to the same bytes, through the sidecar's codec and the client's; bad frames must fail at the recorded stage with the
// recorded code. The files are read, never regenerated here: a change that
// alters any encoding fails this test until the corpus is regenerated on purpose
// (see test/fixtures/generate-frames.ts).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  ClientHelloSchema,
  ConnectionErrorSchema,
  DEFAULT_LIMITS,
  DecodeError,
  FrameDecoder,
  GetResultSchema,
  ProtocolError,
  REQUEST_OPS,
  RequestSchema,
  ResponseSchema,
  ServerHelloSchema,
  ServerMessageSchema,
  WatchEventSchema,
  WatchProgressSchema,
  WatchResultSchema,
  WriteResultSchema,
  decodeValue,
  encodeMessage,
  maxResponseFrameBytes,
  parsePath,
  type DecodeLimits,
} from '../../protocol/index.js';
import * as clientCodec from '../../protocol/plain-msgpack.js';

const dir = new URL('../../../test/fixtures/frames/', import.meta.url);

type Expectation =
  | { ok: true; value: unknown }
  | { ok: false; stage: 'incomplete' }
  | { ok: false; stage: 'frame' | 'decode' | 'schema'; code: string; requestId?: number }
  | { ok: false; stage: 'path'; code: string; value: unknown };

interface CorpusCase {
  file: string;
  what: string;
  direction: 'client-to-sidecar' | 'sidecar-to-client';
  schema: 'request' | 'clientHello' | 'serverHello' | 'response' | 'connectionError' | 'watchEvent' | 'watchProgress';
  expect: Expectation;
}

const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { protocol: number; cases: CorpusCase[] };

/** '#' lines are comments; whitespace is ignored. */
function readFrame(file: string): Buffer {
  const hex = readFileSync(new URL(file, dir), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('')
    .replace(/\s+/g, '');
  assert.match(hex, /^([0-9a-f]{2})+$/, `${file} is not lowercase hex`);
  return Buffer.from(hex, 'hex');
}

/** What each side applies to what it receives (sidecar: its limits; client: session.ts/connection.ts). */
const receiver: Record<CorpusCase['direction'], { maxFrameBytes: number; limits: DecodeLimits }> = {
  'client-to-sidecar': { maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes, limits: DEFAULT_LIMITS },
  'sidecar-to-client': { maxFrameBytes: maxResponseFrameBytes(DEFAULT_LIMITS), limits: { maxDepth: 1024, maxArrayLength: 2 ** 32, maxStringBytes: 2 ** 32 } },
};

const schemas = {
  request: RequestSchema,
  clientHello: ClientHelloSchema,
  serverHello: ServerHelloSchema,
  response: ResponseSchema,
  connectionError: ConnectionErrorSchema,
  watchEvent: WatchEventSchema,
  watchProgress: WatchProgressSchema,
};

/** An id the sidecar can answer on (session.ts answers invalid requests only with such an id). */
const answerableId = (message: unknown): number | undefined => {
  const id = (message as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : undefined;
};

function pathsOf(request: Record<string, unknown>): unknown[] {
  if (Array.isArray(request.ops)) return request.ops.map((op: { path: unknown }) => op.path);
  return 'path' in request ? [request.path] : [];
}

describe('golden frame corpus', () => {
  test('the manifest and the directory list the same files', () => {
    const files = readdirSync(dir).filter((name) => name.endsWith('.hex')).sort();
    assert.deepEqual(manifest.cases.map((c) => c.file).sort(), files);
    assert.equal(manifest.protocol, 1);
  });

  test('the corpus has a good frame for every request op, and hostile frames for every stage', () => {
    const goodOps = new Set(manifest.cases.filter((c) => c.expect.ok && c.schema === 'request').map((c) => (c.expect as { value: { op: string } }).value.op));
    assert.deepEqual([...goodOps].sort(), [...REQUEST_OPS].sort());
    const stages = new Set(manifest.cases.flatMap((c) => (c.expect.ok ? [] : [c.expect.stage])));
    assert.deepEqual([...stages].sort(), ['decode', 'frame', 'incomplete', 'path', 'schema']);
  });

  test('the corpus has every kind of message the sidecar sends after hello', () => {
    const sent = manifest.cases.filter((c) => c.expect.ok && c.direction === 'sidecar-to-client').map((c) => (c.expect as { value: Record<string, unknown> }).value);
    const kinds = new Set(
      sent.map((m) => (m.type !== undefined ? String(m.type) : m.ok === false ? 'error-response' : 'watchId' in m ? 'watch-response' : 'response')),
    );
    assert.deepEqual([...kinds].sort(), ['error', 'error-response', 'event', 'hello', 'progress', 'response', 'watch-response']);
    // Both shapes of a change, and both answers to watch (plain and resync).
    const changes = sent.flatMap((m) => (m.type === 'event' ? (m.changes as Record<string, unknown>[]) : []));
    assert.ok(changes.some((change) => 'value' in change) && changes.some((change) => change.deleted === true));
    assert.ok(sent.some((m) => 'watchId' in m && 'resync' in m) && sent.some((m) => 'watchId' in m && !('resync' in m)));
  });

  test('the watch requests cover the optional fields one by one', () => {
    const watches = manifest.cases
      .filter((c) => c.expect.ok && c.schema === 'request' && (c.expect as { value: { op: string } }).value.op === 'watch')
      .map((c) => (c.expect as { value: Record<string, unknown> }).value);
    for (const field of ['startRevision', 'epoch', 'initial']) {
      assert.ok(watches.some((w) => field in w), `a watch with ${field}`);
      assert.ok(watches.some((w) => !(field in w)), `a watch without ${field}`);
    }
  });

  for (const c of manifest.cases) {
    test(`${c.file}: ${c.what}`, () => {
      const bytes = readFrame(c.file);
      const { maxFrameBytes, limits } = receiver[c.direction];
      const expect = c.expect;

      // 1. Framing.
      const decoder = new FrameDecoder(maxFrameBytes);
      let frames: Buffer[];
      try {
        frames = decoder.push(bytes);
      } catch (error) {
        assert.ok(error instanceof ProtocolError, String(error));
        assert.ok(!expect.ok && expect.stage === 'frame', `unexpected frame error ${error.code}: ${error.message}`);
        assert.equal(error.code, expect.code);
        return;
      }
      if (frames.length === 0) {
        assert.ok(!expect.ok && expect.stage === 'incomplete', 'the frame is incomplete');
        assert.equal(decoder.hasPartialFrame, true);
        return;
      }
      assert.equal(frames.length, 1, 'one file, one frame');
      assert.equal(decoder.hasPartialFrame, false, 'no bytes after the frame');
      assert.ok(expect.ok || (expect.stage !== 'frame' && expect.stage !== 'incomplete'), 'the frame was expected to fail framing');

      // 2. msgpack.
      let message: unknown;
      try {
        message = decodeValue(frames[0]!, limits);
      } catch (error) {
        assert.ok(error instanceof DecodeError, String(error));
        assert.ok(!expect.ok && expect.stage === 'decode', `unexpected decode error ${error.code}: ${error.message}`);
        assert.equal(error.code, expect.code, error.message);
        if (expect.requestId !== undefined) assert.equal(error.requestId, expect.requestId);
        return;
      }
      assert.ok(expect.ok || expect.stage !== 'decode', 'the payload was expected to fail decoding');

      // 3. Schema.
      const parsed = schemas[c.schema].safeParse(message);
      if (!parsed.success) {
        assert.ok(!expect.ok && expect.stage === 'schema', `unexpected schema failure: ${parsed.error.message}`);
        assert.equal(expect.code, 'BAD_REQUEST');
        assert.equal(answerableId(message), expect.requestId, 'answered on this id, or the connection is closed');
        return;
      }
      assert.ok(expect.ok || expect.stage === 'path', 'the message was expected to fail its schema');
      if (c.direction === 'sidecar-to-client') assert.equal(ServerMessageSchema.safeParse(message).success || c.schema === 'serverHello', true);

      // 4. Paths, as the handlers parse them.
      if (!expect.ok) {
        assert.ok(expect.stage === 'path');
        assert.deepEqual(message, expect.value);
        const failures = pathsOf(message as Record<string, unknown>).flatMap((path) => {
          try {
            parsePath(path as string | string[]);
            return [];
          } catch (error) {
            return [(error as ProtocolError).code];
          }
        });
        assert.deepEqual(failures, [expect.code]);
        return;
      }

      // 5. A good frame: the recorded value, and the same bytes when encoded again.
      assert.deepEqual(message, expect.value);
      assert.equal(encodeMessage(expect.value).toString('hex'), bytes.toString('hex'), 'the encoding of this message changed');
      // The client's own codec reads and writes it as msgpackr does.
      assert.deepEqual(clientCodec.decodeValue(frames[0]!, limits), expect.value, "the client's codec reads it differently");
      assert.equal(clientCodec.encodeMessage(expect.value).toString('hex'), bytes.toString('hex'), "the client's codec writes it differently");
      if (c.schema === 'request') for (const path of pathsOf(message as Record<string, unknown>)) parsePath(path as string | string[]);
      if (c.schema === 'response' && (message as { ok: boolean }).ok) {
        const { id: _id, ok: _ok, ...result } = message as Record<string, unknown>;
        const resultSchema = 'watchId' in result ? WatchResultSchema : 'results' in result ? WriteResultSchema : GetResultSchema;
        assert.doesNotThrow(() => resultSchema.parse(result));
      }
    });
  }
});
