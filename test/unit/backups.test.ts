// Backups keep the newest N versions, skip identical content, and respect the interval.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Backups } from '../../sidecar/file/backups.js';
import { realFs } from '../../sidecar/disk/fs-ops.js';

test('keeps the newest N, oldest dropped first; identical content is not kept twice; the interval is respected', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bk-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const backups = new Backups(dir, realFs, { keep: 3, intervalMs: 0 });
  for (let i = 1; i <= 5; i++) {
    await backups.maybeKeep(Buffer.from(`{"v":${i}}\n`));
    await backups.maybeKeep(Buffer.from(`{"v":${i}}\n`)); // same content: skipped
  }
  const kept = await backups.list();
  assert.equal(kept.length, 3);
  assert.deepEqual(await Promise.all(kept.map(async (b) => (await readFile(b.path, 'utf8')).trim())), ['{"v":5}', '{"v":4}', '{"v":3}']);

  const slow = new Backups(dir, realFs, { keep: 3, intervalMs: 60_000 });
  await slow.maybeKeep(Buffer.from('{"v":6}\n'));
  await slow.maybeKeep(Buffer.from('{"v":7}\n')); // within the interval
  assert.equal((await readFile((await slow.list())[0]!.path, 'utf8')).trim(), '{"v":6}');
});
