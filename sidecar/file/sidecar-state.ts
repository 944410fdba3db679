// state.json in the sidecar's state directory: that a config file existed
// (so a start that finds none knows it was lost, not new), and at a clean stop
// the epoch and revision served with the hash of the file they describe, so a
// restart on an unchanged file keeps its epoch and watchers resume without a
// resync.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { durableReplace } from '../disk/durable-write.js';
import type { FsOps } from '../disk/fs-ops.js';

const StateSchema = z.object({
  configExisted: z.boolean(),
  epoch: z.string().optional(),
  revision: z.number().int().positive().optional(),
  contentSha256: z.string().optional(),
});
export type SidecarStateRecord = z.infer<typeof StateSchema>;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export class SidecarState {
  private recorded: SidecarStateRecord | undefined;

  constructor(
    readonly stateDir: string,
    private readonly fs: FsOps,
    /** Where temp files are made (the owner's generation directory). */
    private readonly tempDir?: string,
  ) {}

  get path(): string {
    return path.join(this.stateDir, 'state.json');
  }

  /** The record, or undefined when there is none (or it is unreadable: treated as none, with the reason). */
  async read(): Promise<{ record: SidecarStateRecord | undefined; problem?: string }> {
    let text: string;
    try {
      text = (await this.fs.readFile(this.path)).toString('utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return { record: undefined };
      throw error;
    }
    try {
      this.recorded = StateSchema.parse(JSON.parse(text));
      return { record: this.recorded };
    } catch (error) {
      return { record: undefined, problem: `${this.path} is unreadable: ${(error as Error).message}` };
    }
  }

  async write(record: SidecarStateRecord): Promise<void> {
    await durableReplace(this.path, Buffer.from(JSON.stringify(record) + '\n'), { fs: this.fs, mode: 0o600, ...(this.tempDir === undefined ? {} : { tempDir: this.tempDir }) });
    this.recorded = record;
  }

  /** Records that the config exists (once); the epoch of a previous run is dropped: it no longer matches. */
  async markConfigExists(): Promise<void> {
    if (this.recorded?.configExisted === true && this.recorded.epoch === undefined) return;
    await this.write({ configExisted: true });
  }
}
