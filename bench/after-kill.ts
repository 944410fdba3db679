// How a write benchmark ends: kill -9 of the sidecar while its writers still
// have writes in flight, a new sidecar on the same file (recovery replays
// whatever the file did not hold yet), and the document it recovered, read
// from the file once the file holds the recovered revision. What the writers
// had acknowledged is then checked against that text (acknowledged-writes.ts);
// a write whose answer never came may or may not be there.
import { readFile } from 'node:fs/promises';
import { connect } from '../client/index.js';
import { runWorkers, startSidecar, type ServerProcess, type WorkerSpec } from './bench-processes.js';
import type { DurableWorkerResult } from './durable-write-result.js';
import { waitForFileCurrent } from './file-stats.js';

/** Bound on recovery plus the file catching up with it. */
const RECOVERED_WITHIN_MS = 60_000;
/** How long past the kill a writer may take to notice and report. */
const WRITERS_STOP_WITHIN_MS = 60_000;

/**
 * Runs set-worker processes (given without --duration-ms) against the sidecar
 * and kills it -9 `killAfterMs` after go, under load; `stats` is read just
 * before the kill. The workers stop when their connection drops.
 * `whileWriting(killAt)` runs from go and must end by `killAt` (performance.now()).
 */
export async function writeUntilKilled(
  sidecar: ServerProcess,
  socketPath: string,
  specs: readonly WorkerSpec[],
  killAfterMs: number,
  whileWriting?: (killAt: number) => Promise<void>,
): Promise<{ workers: DurableWorkerResult[]; stats: Record<string, unknown> }> {
  let stats: Record<string, unknown> = {};
  const running = specs.map((spec) => ({
    script: spec.script,
    args: [...spec.args, '--until-disconnected', '--duration-ms', String(killAfterMs + WRITERS_STOP_WITHIN_MS)],
  }));
  const workers = await runWorkers<DurableWorkerResult>(running, killAfterMs + 2 * WRITERS_STOP_WITHIN_MS, async () => {
    const killAt = performance.now() + killAfterMs;
    await Promise.all([new Promise((resolve) => setTimeout(resolve, killAfterMs)), whileWriting?.(killAt)]);
    const client = connect({ socketPath, name: 'bench-runner' });
    stats = await client.stats().finally(() => client.close());
    await sidecar.kill9();
  });
  return { workers, stats };
}

/** The killed sidecar's recovered document as JSON text; the new sidecar is stopped again. */
export async function recoveredAfterKill(sidecar: ServerProcess, configPath: string, socketPath: string): Promise<string> {
  await sidecar.kill9();
  const restarted = await startSidecar(configPath, socketPath);
  try {
    await waitForFileCurrent(socketPath, RECOVERED_WITHIN_MS);
    return await readFile(configPath, 'utf8');
  } finally {
    await restarted.stop();
  }
}
