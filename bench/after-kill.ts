// How a write benchmark ends: kill -9 of the sidecar, a new sidecar on the
// same file (recovery replays whatever the file did not hold yet), and the
// document it recovered, read from the file once the file holds the
// recovered revision. What the writers had acknowledged is then checked
// against that text (acknowledged-writes.ts).
import { readFile } from 'node:fs/promises';
import { startSidecar, type ServerProcess } from './bench-processes.js';
import { waitForFileCurrent } from './file-stats.js';

/** Bound on recovery plus the file catching up with it. */
const RECOVERED_WITHIN_MS = 60_000;

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
