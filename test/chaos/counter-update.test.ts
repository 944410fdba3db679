// Read-modify-write races (docs/defects.md, D5):
// processes each incrementing one counter through update() must end at exactly
// their total. COUNTER_PROCESSES × COUNTER_INCREMENTS: 4 × 50 when the file runs
// alone, 16 × 200 in npm run test:chaos.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { CLIENT_WORKER } from '../helpers/paths.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const PROCESSES = Number(process.env.COUNTER_PROCESSES ?? 4);
const INCREMENTS = Number(process.env.COUNTER_INCREMENTS ?? 50);

test(`${PROCESSES} processes x ${INCREMENTS} update(counter, n => n + 1) end at exactly ${PROCESSES * INCREMENTS}`, async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const runs = await Promise.all(
    Array.from({ length: PROCESSES }, () => runNode(CLIENT_WORKER, ['counter', paths.socketPath, String(INCREMENTS)], { timeoutMs: 120_000 })),
  );
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  assert.equal(await client.get('counter'), PROCESSES * INCREMENTS);
  await fileCaughtUp(client);
  const onDisk = JSON.parse(await readFile(paths.configPath, 'utf8')) as { counter: number };
  assert.equal(onDisk.counter, PROCESSES * INCREMENTS);
});
