// A process's resident memory, read from /proc (Linux): now, and the peak over
// a stretch of time, sampled often enough to see a transient spike. For the
// resource-bound tests, which print what they measured.
import { readFile } from 'node:fs/promises';

/** Resident set size of `pid` in bytes, or undefined once the process is gone. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT' || (error as { code?: string }).code === 'ESRCH') return undefined;
    throw error;
  }
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/** Samples `pid`'s RSS every `intervalMs` until stopped; `stop` resolves with the highest seen. */
export function samplePeakRss(pid: number, intervalMs = 10): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const rss = await rssBytes(pid);
      if (rss === undefined) return;
      peak = Math.max(peak, rss);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

export const MiB = 1024 * 1024;

/** "RSS before 80 MB, peak 95 MB, after 82 MB": the figure each resource test prints. */
export function rssFigure(what: string, figures: { before: number; peak: number; after?: number }): string {
  const mb = (bytes: number) => `${Math.round(bytes / MiB)} MB`;
  return `${what}: RSS before ${mb(figures.before)}, peak ${mb(figures.peak)}${figures.after === undefined ? '' : `, after ${mb(figures.after)}`}`;
}
