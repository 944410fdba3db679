// A save that leaves the file's text as it was (an editor's save without
// changes, `touch`) changes only its stat. The sidecar recognises its own text
// and takes the new stat as the file's: the next rewrite goes ahead, nothing
// is reported, no rewrite is mistaken for one that keeps finding a hand edit.
import assert from 'node:assert/strict';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a save of the same text (rewritten in place, then touched) does not hold up the next rewrite', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  for (let round = 0; round < 3; round++) {
    await client.set('a', round, { waitForFile: true });
    const text = await readFile(paths.configPath);
    await writeFile(paths.configPath, text);
    const later = new Date(Date.now() + 5_000 * (round + 1));
    await utimes(paths.configPath, later, later);
    // The change is seen (a re-read of the file) before the next write, as an editor's save would be.
    await client.health();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.set('b', round, { waitForFile: true, timeoutMs: 5_000 });
    assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { a: round, b: round });
  }
  const health = await client.health();
  assert.equal(health.status, 'ok', JSON.stringify(health.reasons));
  assert.equal(((await client.stats()).file as { failedRewrites: number }).failedRewrites, 0);
});
