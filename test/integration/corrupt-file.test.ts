// docs/defects.md, D8: a corrupt config stopped the service with no way
// back, or was replaced by defaults. Here a corrupt file is kept aside
// byte-for-byte in quarantine/, start-up stops with a message naming it, and
// nothing is overwritten. These files were never served, so there is no
// backup to fall back on (backups.test.ts covers the case with one).
import assert from 'node:assert/strict';
import { access, chmod, chown, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { programForUser, spawnSidecarAsUser } from '../helpers/sidecar-as-user.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

/** The unprivileged user the sidecar runs as when the kernel must refuse it something root may do. */
const NOBODY = 65534;

for (const [name, content] of [
  ['truncated JSON', '{"server": {"port": 80'],
  ['an empty file', ''],
  ['a JSON array', '[1, 2]'],
  ['a __proto__ key', '{"__proto__": {"admin": true}}'],
] as const) {
  test(`a config holding ${name} is quarantined intact and start-up fails clearly`, async (t) => {
    const paths = await testPaths(t);
    await mkdir(path.dirname(paths.configPath), { recursive: true });
    await writeFile(paths.configPath, content);
    const sidecar = await startSidecar(t, paths, { noWait: true });
    assert.equal(await sidecar.exitWithin(), 1);
    const quarantine = path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine');
    const kept = await readdir(quarantine);
    assert.equal(kept.length, 1);
    assert.ok(sidecar.stderr().includes(path.join(quarantine, kept[0]!)), sidecar.stderr());
    assert.equal(await readFile(path.join(quarantine, kept[0]!), 'utf8'), content);
    await assert.rejects(access(paths.configPath), /ENOENT/, 'nothing was written in its place');

    // Restarting (as a service manager would) must not quietly serve an empty config instead.
    const again = await startSidecar(t, paths, { noWait: true });
    assert.equal(await again.exitWithin(), 1);
    assert.match(again.stderr(), /missing but existed before/);
  });
}

test('a directory in the config file\'s place is a clear start-up error, and nothing is moved', async (t) => {
  const paths = await testPaths(t);
  await mkdir(paths.configPath, { recursive: true });
  const sidecar = await startSidecar(t, paths, { noWait: true });
  assert.equal(await sidecar.exitWithin(), 1);
  assert.match(sidecar.stderr(), /is not a regular file/);
  await access(paths.configPath);
});

test('an unreadable file in the config file\'s place is a clear start-up error, and nothing is moved', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  const text = '{"secret": true}\n';
  await writeFile(paths.configPath, text, { mode: 0o000 });
  let sidecar: { exited: Promise<number | string>; stderr(): string };
  if (process.getuid?.() === 0) {
    // Root reads any file: the sidecar runs as nobody, owning its directories but not the file.
    await chmod(paths.dir, 0o711); // nobody passes through to its own directories and the placed program
    const found = await programForUser(NOBODY, NOBODY, paths.dir);
    if ('skip' in found) return t.skip(found.skip);
    const home = path.join(paths.dir, 'home');
    for (const dir of [home, path.dirname(paths.configPath), path.dirname(paths.socketPath)]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chown(dir, NOBODY, NOBODY);
    }
    sidecar = spawnSidecarAsUser({ node: found.node, cli: found.cli, uid: NOBODY, gid: NOBODY, configPath: paths.configPath, socketPath: paths.socketPath, home });
    t.after(() => sidecar.exited);
  } else {
    sidecar = await startSidecar(t, paths, { noWait: true });
  }
  assert.equal(await sidecar.exited, 1);
  assert.match(sidecar.stderr(), /cannot read .*config\.json: EACCES: permission denied/);
  await chmod(paths.configPath, 0o600);
  assert.equal(await readFile(paths.configPath, 'utf8'), text, 'left in place, untouched');
  assert.deepEqual(await readdir(path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine')).catch(() => []), []);
});
