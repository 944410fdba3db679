// The persistence layer's file-system calls with a failpoint: one step
// (open of the temp file, a write, fsync of the file, close, rename, fsync of
// the directory, append to the commit journal, its datasync) fails with a
// chosen OS error once or from then on, or is held until released. The only mock in the suite: a disk fault cannot be made real
// on demand.
import type { FileHandle } from 'node:fs/promises';
import { realFs, type FsOps } from '../../sidecar/disk/fs-ops.js';

export type FailStep = 'open' | 'write' | 'short-write' | 'zero-write' | 'fsync' | 'close' | 'rename' | 'fsync-dir' | 'journal-write' | 'journal-sync';

export interface Failpoint {
  step: FailStep;
  mode: 'once' | 'always';
  code?: string;
}

export class FaultyFs {
  private failpoint: Failpoint | undefined;
  private readonly dirHandles = new WeakSet<FileHandle>();
  /** Steps entered, in order, for assertions about ordering. */
  readonly log: string[] = [];
  private hold: { step: FailStep; entered: () => void; release: Promise<void> } | undefined;

  /** Steps still to pass before the process kills itself (SIGKILL), or undefined. */
  private crashIn: number | undefined;

  /** The process SIGKILLs itself on entering the `n`th step from now (1 = the next one): a crash at that point. */
  crashAt(n: number): void {
    this.crashIn = n;
  }

  arm(failpoint: Failpoint): void {
    this.failpoint = failpoint;
  }

  disarm(): void {
    this.failpoint = undefined;
  }

  /** Runs once, synchronously, right before the next rename or link onto `target`: nothing else (a watch event) runs between them. */
  private justBefore: { target: string; run: () => void } | undefined;

  /** `run` happens the next time a file is about to be renamed or linked onto `target`, in the same turn as that step. */
  rightBeforeRenameOnto(target: string, run: () => void): void {
    this.justBefore = { target, run };
  }

  /** Makes `step` wait until the returned release() is called; `entered` resolves when it is reached. */
  holdAt(step: FailStep): { entered: Promise<void>; release: () => void } {
    let entered!: () => void;
    let release!: () => void;
    const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
    this.hold = { step, entered, release: new Promise<void>((resolve) => (release = resolve)) };
    return { entered: enteredPromise, release };
  }

  private async at(step: FailStep, target?: string): Promise<void> {
    this.log.push(step);
    if (this.crashIn !== undefined && --this.crashIn === 0) process.kill(process.pid, 'SIGKILL');
    if (this.hold?.step === step) {
      const hold = this.hold;
      this.hold = undefined;
      hold.entered();
      await hold.release;
    }
    const failpoint = this.failpoint;
    if (failpoint?.step === step) {
      if (failpoint.mode === 'once') this.failpoint = undefined;
      const code = failpoint.code ?? 'EIO';
      throw Object.assign(new Error(`${code}: injected failure at ${step}`), { code });
    }
    if (target !== undefined && this.justBefore?.target === target) {
      const { run } = this.justBefore;
      this.justBefore = undefined;
      run();
    }
  }

  readonly fs: FsOps = {
    ...realFs,
    // Renames and links go through `rename` and `link` below, where faults are injected.
    renameSync: undefined,
    open: async (path, flags, mode) => {
      const isDir = flags === 'r';
      if (!isDir && flags === 'wx') await this.at('open');
      const handle = await realFs.open(path, flags, mode);
      if (isDir) this.dirHandles.add(handle);
      return handle;
    },
    write: async (handle, data, offset, length) => {
      await this.at('write');
      const failpoint = this.failpoint;
      if (failpoint?.step === 'zero-write') {
        if (failpoint.mode === 'once') this.failpoint = undefined;
        return { bytesWritten: 0 };
      }
      if (failpoint?.step === 'short-write' && length > 1) {
        if (failpoint.mode === 'once') this.failpoint = undefined;
        return realFs.write(handle, data, offset, Math.floor(length / 2));
      }
      return realFs.write(handle, data, offset, length);
    },
    fsync: async (handle) => {
      await this.at(this.dirHandles.has(handle) ? 'fsync-dir' : 'fsync');
      return realFs.fsync(handle);
    },
    close: async (handle) => {
      if (!this.dirHandles.has(handle)) await this.at('close');
      return realFs.close(handle);
    },
    rename: async (from, to) => {
      await this.at('rename', to);
      return realFs.rename(from, to);
    },
    // A link puts a file where none is, in place of a rename: the same step.
    linkSync: undefined,
    link: async (from, to) => {
      await this.at('rename', to);
      return realFs.link!(from, to);
    },
    append: async (handle, data) => {
      await this.at('journal-write');
      return realFs.append(handle, data);
    },
    datasync: async (handle) => {
      await this.at('journal-sync');
      return realFs.datasync(handle);
    },
  };
}
