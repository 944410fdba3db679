// Sidecar processes a test did not start itself (autostarted, detached): found
// by their command line naming the test's own socket path, so a test can count
// them and never leave one running.
import { readdir, readFile } from 'node:fs/promises';

/** Pids of live `serve` processes whose arguments include `socketPath` (Linux: read from /proc). */
export async function servePidsFor(socketPath: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let args: string[];
    try {
      args = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
    } catch (error) {
      // The process ended between the listing and the read.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') continue;
      throw error;
    }
    if (args.includes('serve') && args.includes(socketPath)) pids.push(Number(name));
  }
  return pids;
}

/** Whether the process runs (a zombie nobody reaped does not: detached sidecars are reparented to whatever pid 1 is). */
export async function isRunning(pid: number): Promise<boolean> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  // "pid (comm) S ...": the state letter follows the last parenthesis (comm may contain any).
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/** Polls `condition` until it holds or `timeoutMs` passes (for facts no event announces, like a foreign process's exit). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
