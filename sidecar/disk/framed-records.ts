// Records appended to a log file, each framed as u32 length, u32 CRC32 of the
// payload, payload: a reader finds where a torn tail (a crash mid-append) or
// a damaged record begins and stops there. Used by the commit journal and the
// fleet layer's state log.
import { crc32 } from 'node:zlib';

/** Bytes before each payload: its length and CRC32. */
export const FRAME_HEADER = 8;

export function encodeFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER);
  return frame;
}

/** The payloads in `bytes` up to the first torn or damaged frame; `torn` says whether something was left. */
export function decodeFrames(bytes: Buffer): { payloads: Buffer[]; torn: boolean } {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < FRAME_HEADER) return { payloads, torn: true };
    const length = bytes.readUInt32LE(offset);
    const end = offset + FRAME_HEADER + length;
    if (end > bytes.length) return { payloads, torn: true };
    const payload = bytes.subarray(offset + FRAME_HEADER, end);
    if (crc32(payload) !== bytes.readUInt32LE(offset + 4)) return { payloads, torn: true };
    payloads.push(payload);
    offset = end;
  }
  return { payloads, torn: false };
}
