// boundQuarantine: which files stay in quarantine/ — the newest maxFiles
// within maxBytes, the file just added whatever its mtime, and a failure to
// bound never fails the quarantining.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { realFs } from '../../sidecar/disk/fs-ops.js';
import { createLogger } from '../../sidecar/ops/logger.js';
import { boundQuarantine } from '../../sidecar/file/quarantine.js';

const log = createLogger('silent');

async function dirWith(t: { after(fn: () => Promise<void>): void }, files: [name: string, bytes: number, ageSeconds: number][]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-q-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const now = Date.now() / 1000;
  for (const [name, bytes, age] of files) {
    await writeFile(path.join(dir, name), Buffer.alloc(bytes, 0x61));
    await utimes(path.join(dir, name), now - age, now - age);
  }
  return dir;
}

test('keeps the newest maxFiles, removing the oldest first', async (t) => {
  const dir = await dirWith(t, [['a', 10, 50], ['b', 10, 40], ['c', 10, 30], ['d', 10, 20], ['e', 10, 10]]);
  const removed = await boundQuarantine(dir, realFs, { maxFiles: 3, maxBytes: 1000 }, log, path.join(dir, 'e'));
  assert.deepEqual(removed.map((file) => path.basename(file)).sort(), ['a', 'b']);
  assert.deepEqual((await readdir(dir)).sort(), ['c', 'd', 'e']);
});

test('keeps only what fits in maxBytes, newest first, but always the added file', async (t) => {
  const dir = await dirWith(t, [['old', 400, 30], ['mid', 400, 20], ['new', 400, 10]]);
  await boundQuarantine(dir, realFs, { maxFiles: 10, maxBytes: 900 }, log, path.join(dir, 'new'));
  assert.deepEqual((await readdir(dir)).sort(), ['mid', 'new']);
  const huge = await dirWith(t, [['older', 10, 30], ['huge', 5000, 10]]);
  await boundQuarantine(huge, realFs, { maxFiles: 10, maxBytes: 900 }, log, path.join(huge, 'huge'));
  assert.deepEqual(await readdir(huge), ['huge']);
});

test('the added file stays even when its mtime is the oldest (a config moved in at start keeps its own)', async (t) => {
  const dir = await dirWith(t, [['moved-in', 10, 10_000], ['x', 10, 20], ['y', 10, 10]]);
  await boundQuarantine(dir, realFs, { maxFiles: 2, maxBytes: 1000 }, log, path.join(dir, 'moved-in'));
  assert.deepEqual((await readdir(dir)).sort(), ['moved-in', 'y']);
});

test('a failure to bound is logged and answered with nothing removed, never thrown', async () => {
  const removed = await boundQuarantine('/nonexistent/quarantine', realFs, { maxFiles: 1, maxBytes: 1 }, log, '/nonexistent/quarantine/a');
  assert.deepEqual(removed, []);
});
