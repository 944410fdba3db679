// The bound on quarantine/, where refused files are kept for their authors:
// every invalid hand edit adds a copy, so without a bound 20 invalid saves of
// a 5 MB file held 101 MB. After each addition the newest `maxFiles` files
// are kept, and of those only as many as fit in `maxBytes`; older ones are
// removed and each removal logged. The newest file always stays, even alone
// over `maxBytes`: it is the one the health message names.
import path from 'node:path';
import type { FsOps } from '../disk/fs-ops.js';
import type { Logger } from '../ops/logger.js';

export interface QuarantineBounds {
  /** Most files kept. */
  maxFiles: number;
  /** Most bytes kept in all (the newest file is kept whatever its size). */
  maxBytes: number;
}

export const DEFAULT_QUARANTINE: Readonly<QuarantineBounds> = Object.freeze({ maxFiles: 20, maxBytes: 64 * 1024 * 1024 });

/**
 * Removes the oldest files of `dir` beyond the bounds, never `added` (the file
 * just put there: a config moved in at start keeps its old mtime). Returns the
 * paths removed. A failure is logged, not thrown: the refused text is already
 * safe, and keeping too much is better than failing the refusal.
 */
export async function boundQuarantine(dir: string, fs: FsOps, bounds: QuarantineBounds, log: Logger, added: string): Promise<string[]> {
  try {
    return await removeBeyondBounds(dir, fs, bounds, log, added);
  } catch (error) {
    log.error({ err: error, dir }, 'could not bound quarantine/; its older files stay');
    return [];
  }
}

async function removeBeyondBounds(dir: string, fs: FsOps, bounds: QuarantineBounds, log: Logger, added: string): Promise<string[]> {
  const files = [];
  for (const name of await fs.readdir(dir)) {
    const file = path.join(dir, name);
    try {
      const info = await fs.stat(file);
      if (info.isFile()) files.push({ file, name, bytes: info.size, mtimeMs: info.mtimeMs });
    } catch (error) {
      // Removed by someone else since the listing: nothing to bound.
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
  }
  // The added file first, then newest first; the names carry a millisecond stamp that breaks mtime ties.
  const rank = (entry: { file: string; mtimeMs: number }): number => (entry.file === added ? Infinity : entry.mtimeMs);
  files.sort((a, b) => rank(b) - rank(a) || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  const removed: string[] = [];
  let kept = 0;
  let keptBytes = 0;
  for (const entry of files) {
    if (kept === 0 || (kept < bounds.maxFiles && keptBytes + entry.bytes <= bounds.maxBytes)) {
      kept++;
      keptBytes += entry.bytes;
      continue;
    }
    try {
      await fs.unlink(entry.file);
      removed.push(entry.file);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
  }
  if (removed.length > 0) log.info({ removed, kept, keptBytes, ...bounds }, 'removed the oldest files from quarantine to stay within its bounds');
  return removed;
}
