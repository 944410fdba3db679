// Loads a large realistic document (realistic-config.ts) into a running
// sidecar: whole sections sent as batches, each frame under the 1 MiB limit.
import path from 'node:path';
import { connect, type BatchOp } from '../client/index.js';
import { encodeValue } from '../protocol/index.js';
import { makeTempDir, startSidecar, type ServerProcess } from './bench-processes.js';
import { waitForFileCurrent } from './file-stats.js';
import { buildSections, sectionName } from './realistic-config.js';

/** Largest msgpack payload of one build batch; the frame limit is 1 MiB. */
const MAX_BATCH_BYTES = 700 * 1024;

/** Sets every section, packed into batches that stay under the frame limit. */
export async function buildDocument(socketPath: string, targetBytes: number, sections: number): Promise<{ ms: number; requests: number }> {
  const client = connect({ socketPath, name: 'bench-build', defaultTimeoutMs: 60_000 });
  try {
    await client.ready();
    const start = performance.now();
    let batch: BatchOp<Record<string, unknown>>[] = [];
    let batchBytes = 0;
    let requests = 0;
    const send = async () => {
      if (batch.length === 0) return;
      await client.batch(batch);
      requests++;
      batch = [];
      batchBytes = 0;
    };
    const built = buildSections(sections, targetBytes);
    for (let i = 0; i < built.length; i++) {
      const bytes = encodeValue(built[i]).length;
      if (batchBytes + bytes > MAX_BATCH_BYTES) await send();
      batch.push({ op: 'set', path: sectionName(i), value: built[i] });
      batchBytes += bytes;
    }
    await send();
    return { ms: performance.now() - start, requests };
  } finally {
    client.close();
  }
}

/** A sidecar of its own in a fresh temp dir, serving a document of about `targetBytes` that its file already holds. */
export async function sidecarWithDocument(
  targetBytes: number,
  sections: number,
): Promise<{ dir: string; configPath: string; socketPath: string; sidecar: ServerProcess; built: { ms: number; requests: number } }> {
  const dir = await makeTempDir();
  const configPath = path.join(dir, 'conf', 'config.json');
  const socketPath = path.join(dir, 's.sock');
  const sidecar = await startSidecar(configPath, socketPath);
  try {
    const built = await buildDocument(socketPath, targetBytes, sections);
    await waitForFileCurrent(socketPath, 60_000);
    return { dir, configPath, socketPath, sidecar, built };
  } catch (error) {
    await sidecar.kill9();
    throw error;
  }
}
