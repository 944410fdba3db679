// The fence between successive owners of one config file. Each owner, right
// after taking the lock, makes a generation directory of its own in the state
// directory (`gen-<n>-<pid>`, never re-created) and writes every temp file and
// its commit journal there. A new owner first renames every older generation
// directory into `fenced/`, and only then reads the config: a deposed owner's
// rename out of its directory either happened before the fence (and the new
// owner reads its result) or fails with ENOENT. The argument is in
// docs/decisions.md ("Fencing a deposed owner").
import fs from 'node:fs/promises';
import path from 'node:path';
import { OutcomeUnknown } from '../store/commit-queue.js';
import { realFs, syncDirectory } from '../disk/fs-ops.js';
import { processAlive } from './process-liveness.js';

const GEN = /^gen-(\d+)-(\d+)$/;

/** A generation directory left by an earlier owner (now in `fenced/`). */
export interface FencedGeneration {
  number: number;
  pid: number;
  dir: string;
}

/** Thrown when this owner finds its generation fenced off: another process owns the file now. */
export class FencedOff extends OutcomeUnknown {
  override readonly name = 'FencedOff';
}

export class Generation {
  private constructor(
    readonly dir: string,
    readonly number: number,
    private readonly ino: number,
    /** Earlier generations, newest first. */
    readonly fenced: FencedGeneration[],
  ) {}

  /** Fences off every earlier generation, then makes this owner's. Call with the ownership lock held. */
  static async claim(stateDir: string): Promise<Generation> {
    const fencedDir = path.join(stateDir, 'fenced');
    await fs.mkdir(fencedDir, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(stateDir)) {
      if (!GEN.test(name)) continue;
      await fs.rename(path.join(stateDir, name), path.join(fencedDir, name));
    }
    await syncDirectory(realFs, fencedDir);
    const fenced = (await fs.readdir(fencedDir))
      .map((name) => ({ name, match: GEN.exec(name) }))
      .filter((entry) => entry.match !== null)
      .map(({ name, match }) => ({ number: Number(match![1]), pid: Number(match![2]), dir: path.join(fencedDir, name) }))
      .sort((a, b) => b.number - a.number);
    const number = (fenced[0]?.number ?? 0) + 1;
    const dir = path.join(stateDir, `gen-${number}-${process.pid}`);
    // No `recursive`: an existing directory of that name is an error, never reused.
    await fs.mkdir(dir, { mode: 0o700 });
    await syncDirectory(realFs, stateDir);
    const { ino } = await fs.stat(dir);
    return new Generation(dir, number, ino, fenced);
  }

  /** True while this generation's directory is where it was made: no later owner has fenced it off. */
  async inPlace(): Promise<boolean> {
    try {
      return (await fs.stat(this.dir)).ino === this.ino;
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** Throws FencedOff unless this generation is still in place (OutcomeUnknown if that cannot be told). */
  async assertInPlace(): Promise<void> {
    let inPlace: boolean;
    try {
      inPlace = await this.inPlace();
    } catch (error) {
      throw new OutcomeUnknown(`cannot tell whether ${this.dir} is still in place: ${(error as Error).message}`);
    }
    if (!inPlace) throw new FencedOff(`${this.dir} was fenced off: another sidecar took over the config file`);
  }

  /** Earlier owners that still run: they were deposed (their lock went stale) and can no longer write. */
  async liveDeposed(): Promise<FencedGeneration[]> {
    const running = await Promise.all(this.fenced.map((gen) => gen.pid !== process.pid && processAlive(gen.pid)));
    return this.fenced.filter((_gen, i) => running[i]);
  }

  /**
   * Removes fenced generations whose owner is gone, once this generation's
   * journal checkpoint makes them unnecessary. One whose process still runs
   * is left alone: nothing of its is removed while it may still hold it open.
   * One with this process's pid is an earlier run's (a process claims one
   * generation; a container's sidecar often has the same pid every run).
   */
  async pruneDead(): Promise<string[]> {
    const removed: string[] = [];
    for (const gen of this.fenced) {
      if (gen.pid !== process.pid && (await processAlive(gen.pid))) continue;
      await fs.rm(gen.dir, { recursive: true, force: true });
      removed.push(gen.dir);
    }
    return removed;
  }
}
