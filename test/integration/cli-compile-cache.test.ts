// The CLI's compile cache (docs/decisions.md, "CLI"): a client command fills
// it with the package's own modules, which load after it is turned on, and a
// cache directory the user cannot write changes nothing but the speed.
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { cannotCreateUsers, createUser, runAs } from '../helpers/local-users.js';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { testPaths } from '../helpers/temp-dir.js';

/** Every file below `dir`, recursively. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

test('a client command caches the compiled client library in the user cache directory', async (t) => {
  const paths = await testPaths(t);
  const cache = path.join(paths.dir, 'cache');
  await mkdir(cache);
  // No sidecar: the command still loads the client library before it finds no socket.
  const result = await runNode(CLI, ['get', 'x', '--socket', path.join(paths.dir, 'none.sock')], { env: { XDG_CACHE_HOME: cache } });
  assert.equal(result.code, 3, result.stderr);
  const cached = await filesBelow(path.join(cache, 'config-sidecar', 'compile-cache'));
  // One entry per module compiled after the cache was turned on: the client commands and the library's ~20 modules.
  assert.ok(cached.length >= 20, `only ${cached.length} modules cached: ${cached.join(', ')}`);
});

test('a cache directory the user cannot write is skipped without a word', async (t) => {
  const why = cannotCreateUsers();
  if (why !== undefined) return t.skip(why);
  const paths = await testPaths(t);
  const user = await createUser(t, paths.dir);
  if ('skip' in user) return t.skip(user.skip);
  // The cache directory exists and belongs to root: the user can read it but create nothing in it.
  const home = path.join(paths.dir, 'home');
  const cache = path.join(home, '.cache', 'config-sidecar', 'compile-cache');
  await mkdir(cache, { recursive: true });
  for (const dir of [home, path.join(home, '.cache'), path.join(home, '.cache', 'config-sidecar'), cache]) await chmod(dir, 0o755);
  const result = await runAs(user, [user.cli, 'get', 'x', '--socket', path.join(paths.dir, 'none.sock')], { HOME: home, XDG_CACHE_HOME: '' });
  assert.equal(result.code, 3, result.stderr);
  assert.match(result.stderr, /^config-sidecar: UNAVAILABLE: .*no such socket/);
  assert.equal(result.stderr.split('\n').filter((line) => line !== '').length, 2, `more than the error and its hint: ${result.stderr}`);
  assert.deepEqual(await filesBelow(cache), []);
});
