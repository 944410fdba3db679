// Which failed disk checks (issues come in the order the checks finish, so they are sorted) refuse a document (ConfigSchema.check): only those
// on values the document brings in. A value held before at the same key, or
// anywhere in the same array, is kept and reported as stale instead.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigSchema } from '../../sidecar/schema/config-schema.js';
import type { ProtocolError } from '../../protocol/index.js';
import { executableFile, existingDirectory } from '../../validators/index.js';

const schema = ConfigSchema.of(
  z.strictObject({
    dirs: z.array(existingDirectory()).default([]),
    shell: executableFile().optional(),
    port: z.number().int().min(1).optional(),
  }),
);

async function issuesOf(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    const details = (error as ProtocolError).details as { issues: { path: string }[] };
    return details.issues.map((issue) => issue.path).sort();
  }
  assert.fail('expected VALIDATION_FAILED');
}

test('a value held before that fails a disk check now is stale, not a refusal; a new one is refused', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-disk-checks-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const kept = path.join(dir, 'kept');
  await mkdir(kept);
  const gone = path.join(dir, 'gone');
  const shell = path.join(dir, 'shell');
  await writeFile(shell, '#!/bin/sh\n');
  await chmod(shell, 0o644); // not executable (any more)
  const before = { dirs: [kept, gone], shell };

  const unrelated = await schema.check({ ...before, port: 80 }, before);
  assert.deepEqual(unrelated.stale.map((issue) => issue.path).sort(), ['dirs.1', 'shell']);
  assert.deepEqual(unrelated.view.dirs, [kept, gone], 'the stale value is served as written');

  const reordered = await schema.check({ ...before, dirs: [gone, kept] }, before);
  assert.deepEqual(reordered.stale.map((issue) => issue.path).sort(), ['dirs.0', 'shell'], 'moved within its array: still held');

  assert.deepEqual(await issuesOf(schema.check({ ...before, dirs: [kept, gone, path.join(dir, 'new')] }, before)), ['dirs.2'], 'a new value counts');
  assert.deepEqual(await issuesOf(schema.check({ dirs: [gone] }, { dirs: [] })), ['dirs.0']);
  assert.deepEqual(await issuesOf(schema.check({ ...before, port: 0 }, before)), ['port'], 'other issues refuse as always; stale ones are not listed');
  assert.deepEqual(await issuesOf(schema.validate(before)), ['dirs.1', 'shell'], 'validate counts every disk check');
});
