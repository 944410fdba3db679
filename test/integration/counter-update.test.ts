// Read-modify-write races (docs/defects.md, D5): 16 processes each
// incrementing one counter 200 times through update() must end at exactly 3200.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { CLIENT_WORKER } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('16 processes x 200 update(counter, n => n + 1) end at exactly 3200', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const runs = await Promise.all(
    Array.from({ length: 16 }, () => runNode(CLIENT_WORKER, ['counter', paths.socketPath, '200'], { timeoutMs: 120_000 })),
  );
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const onDisk = JSON.parse(await readFile(paths.configPath, 'utf8')) as { counter: number };
  assert.equal(onDisk.counter, 3200);
});
