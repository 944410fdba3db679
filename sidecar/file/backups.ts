// The last N good versions of the config in the state directory's backups/,
// so a file found corrupt at start is replaced by the newest good one instead
// of stopping the service (docs/defects.md, D8, D9). A backup is taken of the file
// loaded at start and then of a written version at most once per interval, so
// backups cost one extra durable write a minute, not one per flush.
import path from 'node:path';
import { durableReplace } from '../disk/durable-write.js';
import type { FsOps } from '../disk/fs-ops.js';

export interface BackupOptions {
  keep: number;
  intervalMs: number;
}

export const DEFAULT_BACKUPS: BackupOptions = { keep: 5, intervalMs: 60_000 };

export interface BackupFile {
  name: string;
  path: string;
}

export class Backups {
  private lastAt = 0;
  private lastBytes: Buffer | undefined;
  /** Orders backups taken within one millisecond. */
  private counter = 0;

  constructor(
    readonly dir: string,
    private readonly fs: FsOps,
    private readonly options: BackupOptions = DEFAULT_BACKUPS,
    /** Where temp files are made (the owner's generation directory); default beside the backup. */
    private readonly tempDir?: string,
  ) {}

  /** Backups, newest first. */
  async list(): Promise<BackupFile[]> {
    let names: string[];
    try {
      names = await this.fs.readdir(this.dir);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => name.endsWith('.json'))
      .sort()
      .reverse()
      .map((name) => ({ name, path: path.join(this.dir, name) }));
  }

  private async newestBytes(): Promise<Buffer | undefined> {
    const [newest] = await this.list();
    return newest === undefined ? undefined : this.fs.readFile(newest.path);
  }

  /** Keeps `bytes` as a backup if the interval has passed (or `force`), then drops the oldest past `keep`. */
  async maybeKeep(bytes: Buffer, force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.lastAt < this.options.intervalMs) return;
    this.lastBytes ??= await this.newestBytes();
    if (this.lastBytes !== undefined && this.lastBytes.equals(bytes)) return;
    await this.fs.mkdir(this.dir, 0o700);
    // Names sort by time; the counter keeps two backups of one millisecond apart (and in order).
    const name = `${new Date(now).toISOString().replace(/[:.]/g, '-')}-${process.pid}-${String(this.counter++).padStart(6, '0')}.json`;
    await durableReplace(path.join(this.dir, name), bytes, { fs: this.fs, mode: 0o600, ...(this.tempDir === undefined ? {} : { tempDir: this.tempDir }) });
    this.lastAt = now;
    this.lastBytes = bytes;
    const all = await this.list();
    for (const old of all.slice(this.options.keep)) await this.fs.unlink(old.path);
  }
}
