// FrameDecoder: a byte stream cut anywhere yields the same frames, and every
// bad length is refused the moment its 4 header bytes are in.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, FrameDecoder, ProtocolError, encodeFrame } from '../../protocol/index.js';

const MAX = 64;

function payloads(): Buffer[] {
  return [Buffer.from([0x01]), Buffer.from('hello, frames'), Buffer.alloc(MAX, 0xab), Buffer.from([0xc0, 0xc2]), Buffer.from('ünïcødé ✓')];
}

function stream(frames: Buffer[]): Buffer {
  return Buffer.concat(frames.map((p) => encodeFrame(p)));
}

/** Feeds `chunks` one by one and returns every frame produced, copied (frames may view the input). */
function feed(decoder: FrameDecoder, chunks: Buffer[]): Buffer[] {
  return chunks.flatMap((chunk) => decoder.push(chunk).map((frame) => Buffer.from(frame)));
}

function assertProtocolError(fn: () => unknown, code: ErrorCode, pattern?: RegExp): ProtocolError {
  let caught: unknown;
  assert.throws(fn, (error: unknown) => {
    caught = error;
    return error instanceof ProtocolError && error.code === code && (pattern === undefined || pattern.test(error.message));
  });
  return caught as ProtocolError;
}

describe('FrameDecoder', () => {
  test('encodeFrame writes a 4-byte big-endian length before the payload', () => {
    assert.deepEqual([...encodeFrame(Buffer.from([0xaa, 0xbb, 0xcc]))], [0, 0, 0, 3, 0xaa, 0xbb, 0xcc]);
    assert.deepEqual([...encodeFrame(Buffer.alloc(0x0102)).subarray(0, 4)], [0, 0, 1, 2]);
  });

  test('a stream of several frames split at every possible byte boundary yields the same frames', () => {
    const expected = payloads();
    const bytes = stream(expected);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const decoder = new FrameDecoder(MAX);
      const frames = feed(decoder, [bytes.subarray(0, cut), bytes.subarray(cut)]);
      assert.deepEqual(frames, expected, `split at byte ${cut}`);
      assert.equal(decoder.hasPartialFrame, false);
    }
  });

  test('a stream of several frames fed byte by byte yields the same frames', () => {
    const expected = payloads();
    const bytes = stream(expected);
    const decoder = new FrameDecoder(MAX);
    const frames: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) {
      frames.push(...feed(decoder, [bytes.subarray(i, i + 1)]));
      // Between frames nothing is pending; inside one, something is.
      const atBoundary = frames.reduce((sum, f) => sum + 4 + f.length, 0) === i + 1;
      assert.equal(decoder.hasPartialFrame, !atBoundary, `after byte ${i}`);
    }
    assert.deepEqual(frames, expected);
  });

  test('any chunking of any frame sequence yields exactly the frames that were encoded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: MAX }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (raw, cutPoints) => {
          const expected = raw.map((p) => Buffer.from(p));
          const bytes = stream(expected);
          const cuts = [...new Set(cutPoints.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let from = 0;
          for (const cut of [...cuts, bytes.length]) {
            chunks.push(bytes.subarray(from, cut));
            from = cut;
          }
          const decoder = new FrameDecoder(MAX);
          assert.deepEqual(feed(decoder, chunks), expected);
          assert.equal(decoder.hasPartialFrame, false);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('an empty chunk is ignored', () => {
    const decoder = new FrameDecoder(MAX);
    assert.deepEqual(decoder.push(Buffer.alloc(0)), []);
    assert.equal(decoder.hasPartialFrame, false);
  });

  test('a length prefix of 0 is a PROTOCOL error', () => {
    const decoder = new FrameDecoder(MAX);
    assertProtocolError(() => decoder.push(Buffer.from([0, 0, 0, 0])), ErrorCode.PROTOCOL, /length prefix is 0/);
  });

  test('a length prefix of 0 after good frames is refused once reached, the good frames before it in the same chunk are lost with the stream', () => {
    const decoder = new FrameDecoder(MAX);
    assert.deepEqual(feed(decoder, [encodeFrame(Buffer.from([1]))]), [Buffer.from([1])]);
    assertProtocolError(() => decoder.push(Buffer.concat([encodeFrame(Buffer.from([2])), Buffer.from([0, 0, 0, 0])])), ErrorCode.PROTOCOL);
  });

  test('a frame of exactly maxFrameBytes passes', () => {
    const decoder = new FrameDecoder(MAX);
    const payload = Buffer.alloc(MAX, 7);
    assert.deepEqual(feed(decoder, [encodeFrame(payload)]), [payload]);
  });

  test('maxFrameBytes + 1 is FRAME_TOO_LARGE as soon as the 4 header bytes arrive, before any payload', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(MAX + 1);
    for (let split = 0; split < 4; split++) {
      const decoder = new FrameDecoder(MAX);
      // Fewer than 4 header bytes are not enough to judge...
      assert.deepEqual(decoder.push(header.subarray(0, split)), []);
      // ...the fourth is, and no payload byte is needed.
      const error = assertProtocolError(() => decoder.push(header.subarray(split)), ErrorCode.FRAME_TOO_LARGE, /maxFrameBytes/);
      assert.deepEqual(error.details, { limit: 'maxFrameBytes', max: MAX, actual: MAX + 1 });
    }
  });

  test('a length prefix of 2^32-1 is FRAME_TOO_LARGE with no payload at all', () => {
    const decoder = new FrameDecoder(1024 * 1024);
    const error = assertProtocolError(() => decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), ErrorCode.FRAME_TOO_LARGE);
    assert.equal(error.details?.actual, 2 ** 32 - 1);
    assert.match(error.message, /4294967295 bytes exceeds the frame limit of 1048576 bytes/);
  });

  test('an oversized frame after a good one in the same chunk still throws, judged on its header alone', () => {
    const decoder = new FrameDecoder(MAX);
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE(MAX + 1);
    assertProtocolError(() => decoder.push(Buffer.concat([encodeFrame(Buffer.from([9])), bad])), ErrorCode.FRAME_TOO_LARGE);
  });

  test('a partial frame stays pending until its last byte arrives', () => {
    const decoder = new FrameDecoder(MAX);
    const frame = encodeFrame(Buffer.from('abcdef'));
    assert.deepEqual(decoder.push(frame.subarray(0, 9)), []);
    assert.equal(decoder.hasPartialFrame, true);
    assert.deepEqual(feed(decoder, [frame.subarray(9)]), [Buffer.from('abcdef')]);
    assert.equal(decoder.hasPartialFrame, false);
  });
});
