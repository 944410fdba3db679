// A restart never goes behind an acknowledged write: whatever became of the
// config file while the sidecar was down (replaced by an invalid one, removed,
// truncated after a kill -9, put back as an older copy after a kill -9), and
// when state.json is unreadable, the restarted sidecar serves every
// acknowledged write from the commit journal (or, for a state directory
// without one, the newest backup), with health degraded naming the file. A
// valid file changed after a clean stop is a hand edit and is served as it is.
import assert from 'node:assert/strict';
import { copyFile, readdir, rename, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect } from '../../client/index.js';
import { startSidecar, type SidecarProcess } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const ACKED = { base: 0, acked1: 1, acked2: 2, acked3: 3 };

/** Starts a sidecar and acknowledges `values` one set at a time. */
async function serveAndSet(t: TestContext, paths: TestPaths, values: Record<string, number>): Promise<SidecarProcess> {
  const sidecar = await startSidecar(t, paths);
  await serveAndSetOn(paths, values);
  return sidecar;
}

/** Acknowledges `values` on the sidecar already serving `paths`. */
async function serveAndSetOn(paths: TestPaths, values: Record<string, number>): Promise<void> {
  const client = connect({ socketPath: paths.socketPath });
  try {
    for (const [key, value] of Object.entries(values)) await client.set(key, value, { waitForFile: true });
  } finally {
    client.close();
  }
}

/** The restarted sidecar serves `expected` with health degraded, a reason naming `names`. */
async function restartServes(t: TestContext, paths: TestPaths, expected: Record<string, number>, names: string): Promise<void> {
  const sidecar = await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  try {
    assert.deepEqual(await client.get(''), expected);
    const health = await client.health();
    assert.equal(health.status, 'degraded', JSON.stringify(health));
    assert.ok(health.reasons.some((reason) => reason.includes(names)), `a reason names ${names}: ${JSON.stringify(health.reasons)}`);
  } finally {
    client.close();
  }
  assert.equal(await sidecar.stop(), 0);
}

for (const [how, damage] of [
  ['replaced by an invalid file', (file: string) => writeFile(file, '{"base": 0, broken')],
  ['removed', (file: string) => unlink(file)],
] as const) {
  test(`a graceful restart after the file was ${how} serves every acknowledged write, not the start-up backup`, async (t) => {
    const paths = await testPaths(t);
    const sidecar = await serveAndSet(t, paths, ACKED);
    await damage(paths.configPath);
    assert.equal(await sidecar.stop(), 0);
    await restartServes(t, paths, ACKED, paths.configPath);
  });
}

test('kill -9, then the file truncated while stopped: the restart serves all 5 acknowledged sets', async (t) => {
  const paths = await testPaths(t);
  const five = { s1: 1, s2: 2, s3: 3, s4: 4, s5: 5 };
  const sidecar = await serveAndSet(t, paths, five);
  await sidecar.kill9();
  await truncate(paths.configPath, 7);
  await restartServes(t, paths, five, paths.configPath);
});

test('kill -9, then an older copy of the file put back: the writes acknowledged since are re-applied', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await serveAndSet(t, paths, { a: 1 });
  const older = path.join(paths.dir, 'older.json');
  await copyFile(paths.configPath, older);
  const client = connect({ socketPath: paths.socketPath });
  await client.set('a', 2);
  await client.set('b', 3);
  client.close();
  await sidecar.kill9();
  await copyFile(older, paths.configPath);
  await restartServes(t, paths, { a: 2, b: 3 }, paths.configPath);
});

test('after a clean stop, an older version put back by hand is a hand edit: served as it is', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await serveAndSet(t, paths, { a: 1 });
  const older = path.join(paths.dir, 'older.json');
  await copyFile(paths.configPath, older);
  await serveAndSetOn(paths, { a: 2 });
  assert.equal(await sidecar.stop(), 0);
  await copyFile(older, paths.configPath);
  const again = await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  try {
    assert.deepEqual(await client.get(''), { a: 1 });
    assert.equal((await client.health()).status, 'ok');
  } finally {
    client.close();
  }
  assert.equal(await again.stop(), 0);
});

test('an unreadable state.json and a missing file: the last committed state is served, health names state.json', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await serveAndSet(t, paths, ACKED);
  assert.equal(await sidecar.stop(), 0);
  const stateDir = path.join(path.dirname(paths.configPath), '.config.json.sidecar');
  await writeFile(path.join(stateDir, 'state.json'), '\u0000\u0001 not json');
  await unlink(paths.configPath);
  await restartServes(t, paths, ACKED, path.join(stateDir, 'state.json'));
});

test('an unreadable state.json and a missing file, without a journal (an older state directory): the newest backup is served, not an empty config', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await serveAndSet(t, paths, { kept: 1 });
  assert.equal(await sidecar.stop(), 0);
  const stateDir = path.join(path.dirname(paths.configPath), '.config.json.sidecar');
  // A state directory from before generation directories: backups and state.json only.
  await rm(path.join(stateDir, 'fenced'), { recursive: true, force: true });
  for (const name of await readdir(stateDir)) if (name.startsWith('gen-')) await rm(path.join(stateDir, name), { recursive: true });
  await writeFile(path.join(stateDir, 'state.json'), 'garbage');
  await rename(paths.configPath, path.join(paths.dir, 'moved-away.json'));
  await restartServes(t, paths, { kept: 1 }, path.join(stateDir, 'state.json'));
});
