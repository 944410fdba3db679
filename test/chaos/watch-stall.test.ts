// A watcher that stops reading for 5 s while writers storm the sidecar gets
// every change or a resync, never a gap (etcd's watch guarantees under a slow
// reader). WATCH_STALL_WRITES sets the storm's size: 500 when the file runs alone, 10,000
// in npm run test:chaos.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';
import { checkWatchStream } from '../helpers/watch-checker.js';
import { finish, runWriters, startWatchers } from '../helpers/watch-processes.js';

const WRITERS = 4;
const WRITES = Number(process.env.WATCH_STALL_WRITES ?? 500);

test(`a watcher that stops reading for 5 s during ${WRITES} writes gets everything or a resync, never a gap`, async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const stalled = startWatchers(t, paths, 1, 'C', 5000);
  await stalled.ready;
  const writes = await runWriters(paths, WRITERS, Math.ceil(WRITES / WRITERS));
  const onDisk = await finish(paths, 'C');
  const [record] = await stalled.records;
  assert.deepEqual(checkWatchStream(record!, writes), []);
  assert.deepEqual(record!.view, onDisk);
});
