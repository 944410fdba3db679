// docs/defects.md, D8 and D9: a corrupt config stopped the service, and there
// was no backup. Here the last good versions are kept; a file found truncated,
// empty or byte-flipped at start is moved to quarantine/ untouched and the
// newest good backup is served, with health degraded naming both; `restore`
// brings a backup back as a new revision.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

for (const [damage, corrupt] of [
  ['truncated', (good: Buffer) => good.subarray(0, Math.floor(good.length / 2))],
  ['emptied', () => Buffer.alloc(0)],
  ['byte-flipped', (good: Buffer) => Buffer.from(good.toString('utf8').replace('{', '['))],
] as const) {
  test(`a file ${damage} before start: quarantined intact, the last committed state served, health degraded`, async (t) => {
    const paths = await testPaths(t);
    const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);
    const first = await startSidecar(t, paths);
    assert.equal((await cli('set', 'server', '{"port": 8080}')).code, 0);
    assert.equal(await first.stop(), 0);

    const good = await readFile(paths.configPath);
    const bad = corrupt(good);
    await writeFile(paths.configPath, bad);
    await startSidecar(t, paths);

    assert.equal((await cli('get', 'server.port')).stdout.trim(), '8080');
    assert.deepEqual(await readFile(paths.configPath), good, 'the last committed file is back in place');
    const quarantine = path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine');
    const [kept] = await readdir(quarantine);
    assert.deepEqual(await readFile(path.join(quarantine, kept!)), bad, 'the damaged file is kept byte for byte');
    const health = await cli('health');
    assert.equal(health.code, 1);
    const reasons = (JSON.parse(health.stdout) as { reasons: string[] }).reasons.join('\n');
    assert.match(reasons, /recovered at start: .*rebuilt from the commit journal/);
    assert.ok(reasons.includes(path.join(quarantine, kept!)), reasons);
  });
}

test('backups lists the kept versions; restore brings one back as a new revision', async (t) => {
  const paths = await testPaths(t);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);
  await startSidecar(t, paths);
  assert.equal((await cli('set', 'mode', 'old')).code, 0); // the first write is kept at once
  assert.equal((await cli('set', 'mode', 'new')).code, 0); // within the interval: not kept

  const listed = JSON.parse((await cli('backups')).stdout) as { n: number; path: string }[];
  assert.equal(listed.length, 1);
  assert.deepEqual(JSON.parse(await readFile(listed[0]!.path, 'utf8')), { mode: 'old' });

  const restored = await cli('restore', '1', '--json');
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal((await cli('get', 'mode')).stdout.trim(), 'old');
  assert.equal((await cli('restore', '7')).code, 1);
});
