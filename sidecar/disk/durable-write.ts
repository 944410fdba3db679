// Atomic, durable replacement of a file (docs/defects.md, D1 and D2):
// write a temp file in the same directory, check every byte count, fsync it,
// rename it over the target, fsync the directory. A reader sees the old file
// or the new one, never a mix; after a crash the old or the new one is there.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { existsSync, fstatSync, type BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { syncDirectory, type FsOps } from './fs-ops.js';

/** The step of a durable write that failed. */
export type WriteStep = 'open' | 'write' | 'fsync' | 'close' | 'rename' | 'fsync-dir' | 'journal';

/** A durable write that did not complete; `renamed` says whether the target already holds the new bytes. */
export class WriteFailure extends Error {
  override readonly name = 'WriteFailure';
  constructor(
    readonly step: WriteStep,
    override readonly cause: unknown,
    readonly renamed: boolean,
    readonly cleanupErrors: unknown[] = [],
  ) {
    super(`${step} failed: ${errorText(cause)}`);
  }
  /** The OS error code (ENOSPC, EACCES, ...) when there is one. */
  get osCode(): string | undefined {
    const code = (this.cause as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : undefined;
  }
}

export interface DurableWriteOptions {
  fs: FsOps;
  /** Mode of a newly created file. */
  mode: number;
  platform?: NodeJS.Platform;
  /** Windows: how long to keep retrying a rename refused with EPERM/EBUSY (a reader has it open). */
  renameRetryMs?: number;
  /**
   * Where the temp file is made (same file system as the target): the owner's
   * generation directory, so a deposed owner's rename fails once it is fenced
   * off (generation-fence.ts). Default: beside the target.
   */
  tempDir?: string;
  /** Awaited once the temp file is durable, before beforeRename; rejecting fails the write at 'rename' with the target untouched. */
  beforeRenameAsync?: () => Promise<void>;
  /**
   * Called right before the rename into place; throwing fails the write at
   * 'rename' with the target untouched. Returning 'absent' (the check found no
   * target) puts the file in place only if no target appeared since: a file
   * made in between is kept and the write fails at 'rename' with EEXIST.
   */
  beforeRename?: () => 'absent' | void;
  /** Given the temp file's stat once it is durable: after the rename it is the target's (same inode, size, mtime). */
  onSynced?: (stat: BigIntStats) => void;
}

/** Prefix of temp files for `target` (followed by the writer's pid). */
export function tempPrefix(target: string): string {
  return `.${path.basename(target)}.tmp-`;
}

export async function durableReplace(target: string, data: Uint8Array, options: DurableWriteOptions): Promise<void> {
  const { fs } = options;
  const platform = options.platform ?? process.platform;
  const dir = path.dirname(target);
  const temp = path.join(options.tempDir ?? dir, `${tempPrefix(target)}${process.pid}-${randomBytes(6).toString('hex')}`);

  let handle: FileHandle;
  try {
    handle = await fs.open(temp, 'wx', options.mode);
  } catch (error) {
    throw new WriteFailure('open', error, false);
  }
  let step: WriteStep = 'write';
  try {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await fs.write(handle, data, offset, data.length - offset);
      if (bytesWritten <= 0) throw new Error(`write made no progress at byte ${offset} of ${data.length}`);
      offset += bytesWritten;
    }
    step = 'fsync';
    await fs.fsync(handle);
    // In this turn: the descriptor is open and the call takes microseconds, where a trip through the thread pool can wait behind fsyncs.
    if (options.onSynced !== undefined) options.onSynced(fstatSync(handle.fd, { bigint: true }));
    step = 'close';
    await fs.close(handle);
  } catch (error) {
    const cleanup: unknown[] = [];
    if (step !== 'close') await fs.close(handle).catch((e: unknown) => cleanup.push(e));
    await fs.unlink(temp).catch((e: unknown) => cleanup.push(e));
    throw new WriteFailure(step, error, false, cleanup);
  }

  let linked = false;
  try {
    await options.beforeRenameAsync?.();
    const found = options.beforeRename?.();
    // In the same turn as the check: the window in which a hand edit can be overwritten is the two syscalls apart.
    const sync = fs.renameSync !== undefined && platform !== 'win32';
    // No target at the check: a link, which a file made since refuses (a rename would replace it unseen).
    if (found === 'absent') linked = sync && fs.linkSync !== undefined ? linkedSync(fs, temp, target) : await linkedAsync(fs, temp, target);
    if (!linked) {
      if (sync) fs.renameSync!(temp, target);
      else await renameWithRetry(fs, temp, target, platform, options.renameRetryMs ?? 2000);
    }
  } catch (error) {
    const cleanup: unknown[] = [];
    await fs.unlink(temp).catch((e: unknown) => cleanup.push(e));
    throw new WriteFailure('rename', error, false, cleanup);
  }
  if (linked) {
    try {
      await fs.unlink(temp);
    } catch (error) {
      // In place, but its temp name left behind: failed as not durable (the next write writes it again; a start removes stray temps).
      throw new WriteFailure('rename', error, true);
    }
  }

  try {
    await syncDirectory(fs, dir, platform);
  } catch (error) {
    throw new WriteFailure('fsync-dir', error, true);
  }
}

/**
 * Links `temp` to `target`: true once linked. Throws EEXIST when a file now
 * stands at `target`. False, for the caller to rename instead, on any other
 * refusal — a file system without hard links (FAT refuses with EPERM on
 * Linux, EISDIR on Windows; some network mounts with EACCES), a layer
 * without link(), or a dangling symbolic link at `target` (a rename
 * replaces the link, as before; the link would be refused forever). A
 * fenced-off temp file fails the rename as it failed the link.
 */
function linkedSync(fs: FsOps, temp: string, target: string): boolean {
  try {
    fs.linkSync!(temp, target);
    return true;
  } catch (error) {
    if (isEexist(error) && existsSync(target)) throw error;
    return false;
  }
}

async function linkedAsync(fs: FsOps, temp: string, target: string): Promise<boolean> {
  if (fs.link === undefined) return false;
  try {
    await fs.link(temp, target);
    return true;
  } catch (error) {
    // Whether a file is there, links followed (a failure to tell counts as none: the rename then reports what is wrong).
    const exists = (target: string) =>
      fs.stat(target).then(
        () => true,
        () => false,
      );
    if (isEexist(error) && (await exists(target))) throw error;
    return false;
  }
}

function isEexist(error: unknown): boolean {
  return (error as { code?: string }).code === 'EEXIST';
}

async function renameWithRetry(fs: FsOps, from: string, to: string, platform: NodeJS.Platform, retryMs: number) {
  const deadline = Date.now() + retryMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      await fs.rename(from, to);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      const transient = platform === 'win32' && (code === 'EPERM' || code === 'EBUSY' || code === 'EACCES');
      if (!transient || Date.now() + delay > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
