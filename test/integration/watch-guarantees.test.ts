// Every watcher sees every change, in order, once (etcd's watch guarantees):
// 50 watchers across 5 processes while 4 writer processes make 1,000 writes;
// the same through a kill -9 and restart of the sidecar. A watcher that stops
// reading for 5 s under a write storm: test/chaos/watch-stall.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';
import { checkWatchStream } from '../helpers/watch-checker.js';
import { finish, runWriters, startWatchers } from '../helpers/watch-processes.js';

test('50 watchers x 1,000 writes from 4 processes: ordered, unique, gap-free, complete', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const watchers = Array.from({ length: 5 }, () => startWatchers(t, paths, 10, 'A'));
  await Promise.all(watchers.map((w) => w.ready));

  const writes = await runWriters(paths, 4, 250);
  assert.equal(writes.length, 1000);
  const onDisk = await finish(paths, 'A');

  const records = (await Promise.all(watchers.map((w) => w.records))).flat();
  assert.equal(records.length, 50);
  for (const [i, record] of records.entries()) {
    assert.deepEqual(checkWatchStream(record, writes), [], `watcher ${i}`);
    assert.equal(record.events.filter(([, , resync]) => resync).length, 0, 'no resync was needed');
    assert.deepEqual(record.view, onDisk, `watcher ${i}'s copy equals the file`);
  }
});

test('kill -9 and restart during writes: every watcher ends with exactly the file', async (t) => {
  const paths = await testPaths(t);
  let sidecar = await startSidecar(t, paths);
  const watchers = Array.from({ length: 2 }, () => startWatchers(t, paths, 5, 'B'));
  await Promise.all(watchers.map((w) => w.ready));

  const writing = runWriters(paths, 3, 400);
  await new Promise((resolve) => setTimeout(resolve, 300)); // let some writes land first
  await sidecar.kill9();
  sidecar = await startSidecar(t, paths);
  const writes = await writing;
  const onDisk = await finish(paths, 'B');

  for (const [i, record] of (await Promise.all(watchers.map((w) => w.records))).flat().entries()) {
    assert.deepEqual(checkWatchStream(record, writes), [], `watcher ${i}`);
    assert.deepEqual(record.view, onDisk, `watcher ${i}'s copy equals the file`);
  }
});
