// A fresh directory per test, removed afterwards; config and socket paths inside it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export interface TestPaths {
  dir: string;
  configPath: string;
  socketPath: string;
}

/** Makes a temp dir removed when the test ends. Socket paths stay short (Unix sockets allow ~100 bytes). */
export async function testPaths(t: TestContext): Promise<TestPaths> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-'));
  // Hooks run in registration order, so this one can run while a sidecar started later is still
  // writing in the directory (the file is rewritten behind acknowledged writes): retried then.
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 25 }));
  return { dir, configPath: path.join(dir, 'conf', 'config.json'), socketPath: path.join(dir, 'run', 's.sock') };
}
