// kodegen #8 (seeds/000): a corrupt config stopped the service with no way
// back, or was replaced by defaults. Here a corrupt file is kept aside
// byte-for-byte in quarantine/, start-up stops with a message naming it, and
// nothing is overwritten. These files were never served, so there is no
// backup to fall back on (backups.test.ts covers the case with one).
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile, access } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

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
