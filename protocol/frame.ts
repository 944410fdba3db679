// Bytes <-> frames: a 4-byte big-endian length, then that many payload bytes.
// The length is checked against the limit as soon as its 4 bytes arrive, so
// an oversized frame is refused before a single payload byte is buffered.
import { ErrorCode, ProtocolError } from './errors.js';

export const FRAME_HEADER_BYTES = 4;

/** Prefixes a payload with its length. */
export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Incremental frame splitter for one byte stream. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private maxFrameBytes: number) {}

  /**
   * Changes the frame limit from the next length prefix on (buffered partial
   * frames are checked again): a client learns the sidecar's limits from its hello.
   */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** True while part of a frame is waiting for more bytes. */
  get hasPartialFrame(): boolean {
    return this.buffered > 0;
  }

  /**
   * Adds bytes and returns every frame they complete. Throws ProtocolError
   * (FRAME_TOO_LARGE, PROTOCOL) on a bad length; the stream is then unusable.
   */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.buffered >= FRAME_HEADER_BYTES) {
      const length = this.peekLength();
      if (length === 0) {
        throw new ProtocolError(ErrorCode.PROTOCOL, 'empty frame: length prefix is 0');
      }
      if (length > this.maxFrameBytes) {
        throw new ProtocolError(
          ErrorCode.FRAME_TOO_LARGE,
          `frame of ${length} bytes exceeds the frame limit of ${this.maxFrameBytes} bytes (maxFrameBytes)`,
          { limit: 'maxFrameBytes', max: this.maxFrameBytes, actual: length },
        );
      }
      if (this.buffered < FRAME_HEADER_BYTES + length) break;
      const all = this.take(FRAME_HEADER_BYTES + length);
      frames.push(all.subarray(FRAME_HEADER_BYTES));
    }
    return frames;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.buffered, 16));
    return head.readUInt32BE(0);
  }

  /** Removes and returns the first `n` buffered bytes as one Buffer. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.chunks[0]!;
      const want = n - copied;
      if (chunk.length <= want) {
        out.set(chunk, copied);
        copied += chunk.length;
        this.chunks.shift();
      } else {
        out.set(chunk.subarray(0, want), copied);
        this.chunks[0] = chunk.subarray(want);
        copied += want;
      }
    }
    this.buffered -= n;
    return out;
  }
}
