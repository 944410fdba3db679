// docs/defects.md, D2: a process reading the config while it was
// being saved caught it half-written 9 times in 500. Here a process reads and
// parses the file thousands of times while writers keep changing it: every
// read must parse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_WORKER } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a raw reader never sees a partial file while the sidecar writes', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  // Make the file big enough that a truncate-then-write save would be caught mid-way.
  // 300 durable writes one after another: with another test's fsyncs sharing the disk this can take a while.
  const seed = await runNode(CLIENT_WORKER, ['writer', paths.socketPath, 'seed', '300'], { timeoutMs: 120_000 });
  assert.equal(seed.code, 0, seed.stderr);

  const readers = Array.from({ length: 2 }, () => runNode(CLIENT_WORKER, ['raw-reader', paths.configPath, '3000'], { timeoutMs: 120_000 }));
  const writers = Array.from({ length: 3 }, (_, i) => runNode(CLIENT_WORKER, ['writer', paths.socketPath, `w${i}`, '400'], { timeoutMs: 120_000 }));
  const [readResults, writeResults] = await Promise.all([Promise.all(readers), Promise.all(writers)]);

  for (const run of writeResults) assert.equal(run.code, 0, run.stderr);
  for (const run of readResults) {
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { ok: number; missing: number; failures: string[] };
    assert.deepEqual(summary.failures, []);
    assert.equal(summary.missing, 0);
    assert.equal(summary.ok, 3000);
  }
});
