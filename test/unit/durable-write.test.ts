// Windows rules of durableReplace: a rename refused with EPERM/EBUSY (a reader
// holds the file open) is retried within a bound; no directory fsync there.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { durableReplace, WriteFailure } from '../../sidecar/disk/durable-write.js';
import { realFs, type FsOps } from '../../sidecar/disk/fs-ops.js';

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dw-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'config.json');
}

/** A file system whose rename fails with `code` the first `times` calls; counts directory opens. */
function flakyRename(code: string, times: number) {
  const calls = { rename: 0, dirOpens: 0 };
  const fs: FsOps = {
    ...realFs,
    renameSync: undefined, // every rename through the flaky one below
    open: async (p, flags, mode) => {
      if (flags === 'r') calls.dirOpens++;
      return realFs.open(p, flags, mode);
    },
    rename: async (from, to) => {
      if (calls.rename++ < times) throw Object.assign(new Error(`${code}: busy`), { code });
      return realFs.rename(from, to);
    },
  };
  return { fs, calls };
}

for (const code of ['EPERM', 'EBUSY']) {
  test(`win32: a rename refused with ${code} is retried and succeeds, with no directory fsync`, async (t) => {
    const target = await scratch(t);
    const { fs, calls } = flakyRename(code, 3);
    await durableReplace(target, Buffer.from('{"a":1}\n'), { fs, mode: 0o600, platform: 'win32', renameRetryMs: 2000 });
    assert.equal(await readFile(target, 'utf8'), '{"a":1}\n');
    assert.equal(calls.rename, 4);
    assert.equal(calls.dirOpens, 0);
  });
}

test('win32: a rename that stays refused fails after the bound, leaving no temp file', async (t) => {
  const target = await scratch(t);
  const { fs } = flakyRename('EPERM', Number.POSITIVE_INFINITY);
  await assert.rejects(durableReplace(target, Buffer.from('{}\n'), { fs, mode: 0o600, platform: 'win32', renameRetryMs: 100 }), (error: unknown) => {
    assert.ok(error instanceof WriteFailure);
    assert.equal(error.step, 'rename');
    assert.equal(error.osCode, 'EPERM');
    return true;
  });
  const { readdir } = await import('node:fs/promises');
  assert.deepEqual(await readdir(path.dirname(target)), []);
});

test('elsewhere EPERM on rename is not retried, and the directory is fsynced on success', async (t) => {
  const target = await scratch(t);
  const failing = flakyRename('EPERM', 1);
  await assert.rejects(durableReplace(target, Buffer.from('{}\n'), { fs: failing.fs, mode: 0o600, platform: 'linux' }), /EPERM/);
  assert.equal(failing.calls.rename, 1);
  const ok = flakyRename('EPERM', 0);
  await durableReplace(target, Buffer.from('{}\n'), { fs: ok.fs, mode: 0o600, platform: 'linux' });
  assert.equal(ok.calls.dirOpens, 1);
});
