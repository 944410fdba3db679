// A fresh directory per test, removed afterwards; config and socket paths inside it.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { within } from './teardown.js';

export interface TestPaths {
  dir: string;
  configPath: string;
  socketPath: string;
}

/** Per directory, what must end before it is removed (a sidecar writing its journal and checkpoints there). */
const endBeforeRemoval = new WeakMap<TestPaths, (() => Promise<unknown>)[]>();

/**
 * Makes a temp dir removed when the test ends. Socket paths stay short (Unix sockets allow ~100 bytes).
 * node:test runs t.after hooks in registration order, and this one is registered before any process
 * using the dir is started, so processes registered with `endBeforeRemovalOf` are ended here first:
 * removing the dir under a live sidecar races with its background file writes (ENOTEMPTY).
 */
export async function testPaths(t: TestContext): Promise<TestPaths> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-'));
  const paths = { dir, configPath: path.join(dir, 'conf', 'config.json'), socketPath: path.join(dir, 'run', 's.sock') };
  const steps: (() => Promise<unknown>)[] = [];
  endBeforeRemoval.set(paths, steps);
  t.after(async () => {
    const failures: unknown[] = [];
    for (const step of steps.reverse()) await within(step(), 15_000, 'ending a process before removing its directory').catch((error: unknown) => failures.push(error));
    // An in-process sidecar stopped by a hook registered later may still be writing: retried then.
    await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 25 });
    if (failures.length > 0) throw new AggregateError(failures, 'a process using the test directory did not end');
  });
  return paths;
}

/** Runs `end` (which stops a process with files in `paths.dir`) before the dir is removed. */
export function endBeforeRemovalOf(paths: TestPaths, end: () => Promise<unknown>): void {
  endBeforeRemoval.get(paths)?.push(end);
}
