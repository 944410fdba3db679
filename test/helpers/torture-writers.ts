// Writer processes for the crash tests: each sets w<i> to 1, 2, 3... through
// sidecar kills and restarts (client-worker's torture-writer) and reports
// every send and acknowledgement, so a test knows the highest value sent and
// the highest acknowledged per writer at any moment.
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { CLIENT_WORKER } from './paths.js';

export interface TortureWriters {
  /** Highest value each writer sent (index = writer). */
  maxSent: number[];
  /** Highest value acknowledged to each writer. */
  maxAcked: number[];
  children: ChildProcess[];
}

/** Starts `count` writers on `socketPath`; they are killed when the test ends. */
export function startTortureWriters(t: TestContext, socketPath: string, count: number): TortureWriters {
  const maxSent = new Array<number>(count).fill(0);
  const maxAcked = new Array<number>(count).fill(0);
  const children = Array.from({ length: count }, (_, i) => {
    const child = spawn(process.execPath, [CLIENT_WORKER, 'torture-writer', socketPath, String(i), '600000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [kind, n] = line.split(' ');
        if (kind === 'S') maxSent[i] = Math.max(maxSent[i]!, Number(n));
        if (kind === 'A') maxAcked[i] = Math.max(maxAcked[i]!, Number(n));
      }
    });
    return child;
  });
  return { maxSent, maxAcked, children };
}
