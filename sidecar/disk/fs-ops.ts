// The file-system calls persistence makes, behind one interface, so tests can
// inject a fault into any single step (open, write, fsync, rename, ...).
import { linkSync, renameSync } from 'node:fs';
import fs from 'node:fs/promises';

/** The subset of node:fs/promises the persistence code uses. */
export interface FsOps {
  open(path: string, flags: string, mode?: number): Promise<fs.FileHandle>;
  write(handle: fs.FileHandle, data: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  fsync(handle: fs.FileHandle): Promise<void>;
  close(handle: fs.FileHandle): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /**
   * A rename in this turn of the event loop, when the layer can make one:
   * durable-write.ts uses it so nothing runs between its last check of the
   * target and the rename (a layer without it gets the async rename).
   */
  renameSync?(from: string, to: string): void;
  /**
   * A new name for a file, refused (EEXIST) if the name exists: how a file is
   * put where none is, without replacing one made meanwhile (a layer without
   * it gets a rename).
   */
  link?(from: string, to: string): Promise<void>;
  /** link() in this turn of the event loop (as renameSync). */
  linkSync?(from: string, to: string): void;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  stat(path: string): Promise<import('node:fs').Stats>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, mode: number): Promise<void>;
  /** The commit journal's calls: open for appending, append every byte, make the data durable. */
  openAppend(path: string): Promise<fs.FileHandle>;
  append(handle: fs.FileHandle, data: Uint8Array): Promise<void>;
  datasync(handle: fs.FileHandle): Promise<void>;
  truncate(handle: fs.FileHandle, length: number): Promise<void>;
}

export const realFs: FsOps = {
  open: (path, flags, mode) => fs.open(path, flags, mode),
  write: (handle, data, offset, length) => handle.write(data, offset, length),
  fsync: (handle) => handle.sync(),
  close: (handle) => handle.close(),
  rename: (from, to) => fs.rename(from, to),
  renameSync: (from, to) => renameSync(from, to),
  link: (from, to) => fs.link(from, to),
  linkSync: (from, to) => linkSync(from, to),
  unlink: (path) => fs.unlink(path),
  readFile: (path) => fs.readFile(path),
  stat: (path) => fs.stat(path),
  readdir: (path) => fs.readdir(path),
  mkdir: async (path, mode) => {
    await fs.mkdir(path, { recursive: true, mode });
  },
  openAppend: (path) => fs.open(path, 'a', 0o600),
  append: (handle, data) => handle.appendFile(data),
  datasync: (handle) => handle.datasync(),
  truncate: (handle, length) => handle.truncate(length),
};

/**
 * Makes a directory's entries durable (a new or renamed name survives a crash)
 * through `ops`, so an injected fault reaches it too. Windows cannot open a
 * directory to fsync it; NTFS journals the rename itself.
 */
export async function syncDirectory(ops: FsOps, dir: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  if (platform === 'win32') return;
  const handle = await ops.open(dir, 'r');
  try {
    await ops.fsync(handle);
  } finally {
    await ops.close(handle);
  }
}
