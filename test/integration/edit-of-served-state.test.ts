// The config file trails the served state by a rewrite: an edit may start from
// what was served (a dump edited and saved) before the file held it. Such an
// edit is merged against the served state, not against an older version the
// file held (which would make the edit's own keys look like conflicts with
// client writes, refuse them, and write the file back over the edit).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const ROUNDS = 20;

test(`${ROUNDS} edits of the served state saved right after a write: each is applied, none conflicts`, async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  for (let round = 0; round < ROUNDS; round++) {
    // A value big enough that its rewrite takes a moment: the edit lands while the file may trail.
    await client.set('big', String(round).padEnd(16_384, 'w'));
    const served = (await client.get('')) as Record<string, unknown>;
    await writeFile(paths.configPath, JSON.stringify({ ...served, hand: `edited ${round}` }));
    const deadline = Date.now() + 10_000;
    while ((await client.get('hand').catch(() => undefined)) !== `edited ${round}`) {
      assert.ok(Date.now() < deadline, `round ${round}: the edit was not applied within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(await client.get('big'), String(round).padEnd(16_384, 'w'), `round ${round}: the client's write is kept`);
  }
  const health = await client.health();
  assert.equal(health.status, 'ok', JSON.stringify(health.reasons));
});
