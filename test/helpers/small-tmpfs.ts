// A real, small tmpfs for disk-full tests: mounted on a directory, filled
// until the kernel answers ENOSPC, and unmounted without fail. Mounting needs
// root on Linux (or CAP_SYS_ADMIN); where it is not allowed the caller gets a
// reason to skip with, never a half-made mount.
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, realpath, rmdir, statfs } from 'node:fs/promises';
import path from 'node:path';

export interface SmallTmpfs {
  /** The mount point (canonical path, as /proc/mounts shows it). */
  dir: string;
  /** Unmounts (plain, then lazy as a last resort), checks /proc/mounts, removes the mount point. */
  unmount(): Promise<void>;
}

export type MountOutcome = { mounted: SmallTmpfs } | { skip: string };

/** Mounts a tmpfs of `sizeBytes` on `<parent>/<name>` (created here); `mode` is its root directory's mode. */
export async function mountSmallTmpfs(parent: string, name: string, sizeBytes: number, mode = 0o700): Promise<MountOutcome> {
  if (process.platform !== 'linux') return { skip: `a tmpfs mount needs Linux (this is ${process.platform})` };
  const uid = process.getuid?.();
  if (uid !== 0) return { skip: `mounting a tmpfs needs root (running as uid ${uid})` };
  const dir = path.join(await realpath(parent), name);
  await mkdir(dir, { mode: 0o700 });
  const result = await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=${mode.toString(8).padStart(4, '0')}`, 'tmpfs', dir], 10_000);
  if (!result.ok) {
    await rmdir(dir);
    // Only "not allowed here" is a reason to skip; any other failure is a broken test machine and must be seen.
    if (result.spawnCode === 'ENOENT') return { skip: 'mount(8) is not installed' };
    if (/permission denied|not permitted|must be superuser|EPERM/i.test(result.detail)) return { skip: `mounting a tmpfs is not permitted here (${result.detail.split('\n')[0]})` };
    throw new Error(`mount -t tmpfs failed: ${result.detail}`);
  }
  const mounted = await mountedFsType(dir);
  if (mounted !== 'tmpfs') throw new Error(`mount reported success but /proc/mounts shows ${mounted ?? 'nothing'} at ${dir}`);
  return { mounted: { dir, unmount: () => unmountTmpfs(dir) } };
}

async function unmountTmpfs(dir: string): Promise<void> {
  if ((await mountedFsType(dir)) !== undefined) {
    // EBUSY clears once the kernel has released the files of a process that just exited, so a
    // plain unmount is retried for a bounded time before the mount is detached lazily.
    const deadline = Date.now() + 3000;
    let refusal = '';
    for (let delay = 25; ; delay = Math.min(delay * 2, 400)) {
      const result = await runCommand('umount', [dir], 5000);
      if (result.ok || (await mountedFsType(dir)) === undefined) break;
      refusal = result.detail;
      if (Date.now() + delay > deadline) {
        const lazy = await runCommand('umount', ['-l', dir], 5000);
        const still = (await mountedFsType(dir)) !== undefined;
        // Detached or not, something kept files open on the mount after its users were stopped: that is a failure to report.
        throw new Error(
          `umount ${dir} kept failing (${refusal}); lazy unmount ${lazy.ok ? 'detached it' : `failed too (${lazy.detail})`}` +
            (still ? '; IT IS STILL MOUNTED' : ''),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  const left = await mountedFsType(dir);
  if (left !== undefined) throw new Error(`${dir} is still mounted (${left}) after umount`);
  await rmdir(dir);
}

/** The file system type mounted at `dir` according to /proc/mounts (the last mount wins), or undefined. */
export async function mountedFsType(dir: string): Promise<string | undefined> {
  let type: string | undefined;
  for (const line of (await readFile('/proc/mounts', 'utf8')).split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    // /proc/mounts escapes space, tab, newline and backslash as octal.
    if (mountPoint !== undefined && mountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))) === dir) type = fsType;
  }
  return type;
}

/** Bytes an unprivileged writer can still allocate on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/**
 * Writes a filler file at `file` until the file system answers ENOSPC, then
 * shrinks it so that `leaveFreeBytes` (a multiple of the page size) are free
 * again. Returns the free space measured afterwards. Bounded: a file system
 * that accepts more than `maxBytes` without ENOSPC is an error, not a loop.
 */
export async function fillUntilFull(file: string, leaveFreeBytes: number, maxBytes: number): Promise<number> {
  const handle = await open(file, 'wx', 0o600);
  try {
    const chunk = Buffer.alloc(256 * 1024, 0x5a);
    let written = 0;
    for (;;) {
      try {
        // A write that does not fit is first cut short, then the next one fails: both are counted.
        written += (await handle.write(chunk, 0, chunk.length, null)).bytesWritten;
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOSPC') break;
        throw error;
      }
      if (written > maxBytes) throw new Error(`${file}: wrote ${written} bytes without ENOSPC (expected at most ${maxBytes})`);
    }
    if (leaveFreeBytes > written) throw new Error(`cannot leave ${leaveFreeBytes} bytes free: the filler only holds ${written}`);
    await handle.truncate(written - leaveFreeBytes);
  } finally {
    await handle.close();
  }
  return freeBytes(path.dirname(file));
}

interface CommandResult {
  ok: boolean;
  /** What went wrong, for messages: stderr, exit code, spawn error or timeout. */
  detail: string;
  /** The error code when the command could not be started at all (ENOENT: not installed). */
  spawnCode?: string;
}

/** Runs a system command with a time bound (killed past it); never rejects. */
function runCommand(command: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, detail: `${command} ${args.join(' ')} did not finish within ${timeoutMs} ms` });
    }, timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: `${command}: ${error.message}`, ...(error.code === undefined ? {} : { spawnCode: error.code }) });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, detail: `${command} exited ${code ?? signal}: ${stderr.trim()}` });
    });
  });
}
