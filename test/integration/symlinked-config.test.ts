// A config reached through a symbolic link (dotfiles style): writes replace
// the link's target in the target's directory and leave the link a link; a
// second sidecar started on another name for the same file refuses, naming
// the owner (README, "Symbolic links").
import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a symlinked config stays a link: the target is replaced in its own directory', async (t) => {
  const paths = await testPaths(t);
  const dotfiles = path.join(paths.dir, 'dotfiles');
  const target = path.join(dotfiles, 'config.json');
  await mkdir(dotfiles, { mode: 0o700 });
  await mkdir(path.dirname(paths.configPath), { mode: 0o700 });
  await writeFile(target, '{"a": 0}\n', { mode: 0o600 });
  await symlink('../dotfiles/config.json', paths.configPath);

  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  assert.equal(await client.get('a'), 0);
  await client.set('a', 1, { waitForFile: true });
  assert.ok((await lstat(paths.configPath)).isSymbolicLink(), 'the link is still a link');
  assert.equal(await readlink(paths.configPath), '../dotfiles/config.json');
  assert.deepEqual(JSON.parse(await readFile(target, 'utf8')), { a: 1 }, 'the target holds the write');
  await lstat(path.join(dotfiles, '.config.json.sidecar')); // the state directory is beside the target, on its file system
});

test('a second sidecar on another name for the served file refuses and names the owner', async (t) => {
  const paths = await testPaths(t);
  const first = await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('a', 1, { waitForFile: true });
  const other = path.join(paths.dir, 'other.json');
  await symlink(paths.configPath, other);

  const second = await startSidecar(t, { ...paths, configPath: other, socketPath: path.join(paths.dir, 'other.sock') }, { noWait: true });
  const code = await second.exitWithin(30_000);
  assert.notEqual(code, 0);
  assert.match(second.stderr(), new RegExp(`already served by sidecar pid ${first.pid}`));
  await client.set('b', 2, { waitForFile: true });
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { a: 1, b: 2 });
});
