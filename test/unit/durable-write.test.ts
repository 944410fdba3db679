// Windows rules of durableReplace: a rename refused with EPERM/EBUSY (a reader
// holds the file open) is retried within a bound; no directory fsync there.
// A target absent at the check is put in place by a link, which refuses one made since.
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

test('a target absent at the check is put in place by a link: one made since is kept, the write fails EEXIST, no temp is left', async (t) => {
  const target = await scratch(t);
  const { readdir } = await import('node:fs/promises');
  const { writeFileSync } = await import('node:fs');
  await durableReplace(target, Buffer.from('{"a":1}\n'), { fs: realFs, mode: 0o600, beforeRename: () => 'absent' });
  assert.equal(await readFile(target, 'utf8'), '{"a":1}\n');
  assert.deepEqual(await readdir(path.dirname(target)), ['config.json'], 'the temp name is gone');

  await rm(target);
  const made = '{"made":"meanwhile"}\n';
  await assert.rejects(
    durableReplace(target, Buffer.from('{"a":2}\n'), {
      fs: realFs,
      mode: 0o600,
      beforeRename: () => {
        writeFileSync(target, made);
        return 'absent';
      },
    }),
    (error: unknown) => error instanceof WriteFailure && error.step === 'rename' && error.osCode === 'EEXIST' && !error.renamed,
  );
  assert.equal(await readFile(target, 'utf8'), made);
  assert.deepEqual(await readdir(path.dirname(target)), ['config.json']);
});

test('a link refused for any reason but a file standing there (no hard links here, a layer without link) falls back to a rename', async (t) => {
  const target = await scratch(t);
  const refusing = (code: string) => () => {
    throw Object.assign(new Error(`${code}: link refused`), { code });
  };
  const layers: [string, FsOps][] = [];
  for (const code of ['EPERM', 'EISDIR', 'EACCES', 'EINVAL']) {
    layers.push([`linkSync ${code}`, { ...realFs, linkSync: refusing(code) }]);
    layers.push([`link ${code}`, { ...realFs, renameSync: undefined, link: async () => refusing(code)() }]);
  }
  layers.push(['no link at all', { ...realFs, renameSync: undefined, link: undefined }]);
  for (const [label, fs] of layers) {
    await rm(target, { force: true });
    await durableReplace(target, Buffer.from(`{"by":"${label}"}\n`), { fs, mode: 0o600, beforeRename: () => 'absent' });
    assert.equal(await readFile(target, 'utf8'), `{"by":"${label}"}\n`, label);
  }
});

test('a dangling symbolic link at the target is replaced as a rename would (a link would be refused forever)', async (t) => {
  const target = await scratch(t);
  const { symlink, lstat } = await import('node:fs/promises');
  for (const fs of [realFs, { ...realFs, renameSync: undefined }] satisfies FsOps[]) {
    await rm(target, { force: true });
    await symlink(path.join(path.dirname(target), 'nowhere.json'), target);
    await durableReplace(target, Buffer.from('{"a":1}\n'), { fs, mode: 0o600, beforeRename: () => 'absent' });
    assert.equal(await readFile(target, 'utf8'), '{"a":1}\n');
    assert.equal((await lstat(target)).isFile(), true);
  }
});
