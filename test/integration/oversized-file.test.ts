// A file over maxDocumentBytes is refused by its size, before it is read: a
// 36 MB hand edit never holds the event loop (a get loop's worst wait is
// measured against its own baseline in the same run), and one present at start
// is not read: the last committed state is served read-only, health degraded,
// until the file is replaced by one within the limit.
import assert from 'node:assert/strict';
import { readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect, type ConfigClient } from '../../client/index.js';
import { healthOnceNotOk } from '../helpers/health-wait.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

/** About 36 MB of valid JSON: an object holding one big array of strings. */
function bigDocument(): Buffer {
  const item = JSON.stringify('x'.repeat(1000));
  return Buffer.from(`{"big": [${new Array(36_000).fill(item).join(',')}]}`);
}

/** Runs gets back to back until `until` settles; resolves with the longest single wait (ms). */
async function worstGetWait(client: ConfigClient, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.finally(() => (done = true));
  let worst = 0;
  while (!done) {
    const started = performance.now();
    await client.get('a');
    worst = Math.max(worst, performance.now() - started);
  }
  return worst;
}

test('a 36 MB hand edit is refused by its size without holding the event loop', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('a', 1, { waitForFile: true }); // the file holds it before it is replaced by hand
  const baseline = await worstGetWait(client, new Promise((resolve) => setTimeout(resolve, 500)));

  const big = bigDocument();
  const temp = path.join(path.dirname(paths.configPath), 'config.json.new');
  await writeFile(temp, big);
  const refused = (async () => {
    await rename(temp, paths.configPath);
    return healthOnceNotOk(client, 15_000);
  })();
  const worst = await worstGetWait(client, refused);
  const health = await refused;
  t.diagnostic(`worst get wait: ${worst.toFixed(1)} ms while the ${big.length}-byte file was refused; baseline ${baseline.toFixed(1)} ms`);
  assert.match(health.reasons.join('\n'), /above maxDocumentBytes/);
  assert.ok(worst <= Math.max(50, 3 * baseline), `a get waited ${worst.toFixed(1)} ms (baseline worst ${baseline.toFixed(1)} ms)`);
  assert.equal(await client.get('a'), 1, 'the last good state is still served');
  const kept = await readdir(path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine'));
  assert.equal(kept.length, 1, 'a copy is kept in quarantine/');
});

test('a file over maxDocumentBytes at start is not read: the last committed state is served read-only, health degraded', async (t) => {
  const paths = await testPaths(t);
  const first = await startSidecar(t, paths);
  const writer = connect({ socketPath: paths.socketPath });
  await writer.set('a', 1, { waitForFile: true }); // the file holds it before it is replaced by hand
  writer.close();
  assert.equal(await first.stop(), 0);
  await writeFile(paths.configPath, bigDocument());

  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  const health = await client.health();
  assert.equal(health.status, 'degraded');
  assert.equal(health.readOnly, true);
  assert.match(health.reasons.join('\n'), /above maxDocumentBytes/);
  assert.equal(await client.get('a'), 1, 'the last committed state is served');
  await assert.rejects(client.set('a', 2), (error: { code?: string }) => error.code === 'READ_ONLY');

  // Replaced by a file within the limit: taken in, and writes are taken again.
  await writeFile(paths.configPath, '{"a": 3}\n');
  const deadline = Date.now() + 5000;
  while ((await client.get('a')) !== 3) {
    if (Date.now() > deadline) throw new Error('the replaced file was not taken in');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await client.set('a', 4);
  assert.equal((await client.health()).status, 'ok');
});
