// Whether an open file holds exactly some bytes, read in chunks into one
// buffer of at most CHUNK_BYTES: a large file (the sidecar's own write, seen
// again by the file watch) is compared without a second copy of its size in
// memory, which the main thread's full collections would pay for, and
// without one long compare on the event loop.
import type { FileHandle } from 'node:fs/promises';

const CHUNK_BYTES = 1024 * 1024;

/** True if the file behind `handle` holds exactly `expected` (the caller has seen its stat give that size). */
export async function fileHolds(handle: FileHandle, expected: Buffer): Promise<boolean> {
  const size = expected.length;
  const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK_BYTES, size)));
  for (let at = 0; at < size; ) {
    const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, size - at), at);
    if (bytesRead === 0) return false; // shorter than expected: it changed meanwhile
    if (!chunk.subarray(0, bytesRead).equals(expected.subarray(at, at + bytesRead))) return false;
    at += bytesRead;
  }
  // Longer than expected: it changed meanwhile.
  return (await handle.read(chunk, 0, 1, size)).bytesRead === 0;
}
