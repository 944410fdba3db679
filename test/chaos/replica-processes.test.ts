// Replicas across processes: REPLICA_PROCESSES processes (default 4; 20 in
// `npm run chaos`) each hold a replica while 4 writer processes make
// REPLICA_WRITES writes each; then every replica equals the file, and each
// replica's revisions only ever grew.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';
import { finish, runWriters, startReportingWorker } from '../helpers/watch-processes.js';

const PROCESSES = Number(process.env.REPLICA_PROCESSES ?? 4);
const WRITES = Number(process.env.REPLICA_WRITES ?? 50);

function startReplicas(t: TestContext, paths: TestPaths, token: string) {
  const { ready, report } = startReportingWorker<{ store: unknown; revisions: number[] }>(t, ['replicas', paths.socketPath, '1', token], 'replica');
  return { ready, copies: report };
}

test(`${PROCESSES} processes with replicas, 4 writers x ${WRITES}: every replica equals the file`, async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const replicas = Array.from({ length: PROCESSES }, () => startReplicas(t, paths, 'R'));
  await Promise.all(replicas.map((replica) => replica.ready));
  const writes = await runWriters(paths, 4, WRITES);
  assert.equal(writes.length, 4 * WRITES);
  const onDisk = await finish(paths, 'R');
  const copies = (await Promise.all(replicas.map((replica) => replica.copies))).flat();
  assert.equal(copies.length, PROCESSES);
  for (const [i, copy] of copies.entries()) {
    assert.deepEqual(copy.store, onDisk, `replica ${i} equals the file`);
    for (let k = 1; k < copy.revisions.length; k++) assert.ok(copy.revisions[k]! > copy.revisions[k - 1]!, `replica ${i}: revisions ${copy.revisions.slice(k - 1, k + 1)}`);
  }
});
