// The fleet layer's stored state on real files: a watch batch is one record
// appended to the log, a load is the checkpoint with the log applied, a torn
// tail is dropped and cut off before the next append, records the checkpoint
// already holds are skipped, and a log past its bound becomes a checkpoint.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { FLEET_LOG_FILE, FleetStateStore, type FleetState } from '../../sidecar/fleet/fleet-state-file.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-fleet-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const state = (revision: number, entries: [string, string][]): FleetState => ({ prefix: '/p/', clusterId: '7', revision, syncedAt: 1000 + revision, entries: new Map(entries) });

test('batches are appended to the log and applied over the checkpoint at load; a torn tail is dropped and cut off', async (t) => {
  const dir = await tempDir(t);
  const store = new FleetStateStore(dir, '/p/');
  await store.save(state(5, [['a', '1']]));
  await store.save(state(6, [['a', '1'], ['b', '2']]), [{ key: 'b', value: '2' }]);
  await store.save(state(7, [['b', '2']]), [{ key: 'a', value: undefined }]);
  await store.close();
  assert.ok((await readdir(dir)).includes(FLEET_LOG_FILE));
  const loaded = await new FleetStateStore(dir, '/p/').load();
  assert.equal(loaded.state?.revision, 7);
  assert.equal(loaded.state?.syncedAt, 1007);
  assert.deepEqual([...loaded.state!.entries], [['b', '2']]);

  // A crash mid-append leaves part of a record: dropped at load, and the next append starts where it began.
  await appendFile(path.join(dir, FLEET_LOG_FILE), Buffer.from([40, 0, 0, 0, 1, 2, 3]));
  const again = new FleetStateStore(dir, '/p/');
  assert.equal((await again.load()).state?.revision, 7);
  await again.save(state(8, [['b', '2'], ['c', '3']]), [{ key: 'c', value: '3' }]);
  await again.close();
  const after = await new FleetStateStore(dir, '/p/').load();
  assert.equal(after.state?.revision, 8);
  assert.deepEqual([...after.state!.entries], [['b', '2'], ['c', '3']]);
});

test('a read of the whole prefix, or a log past its bound, writes a checkpoint and starts the log again', async (t) => {
  const dir = await tempDir(t);
  const store = new FleetStateStore(dir, '/p/');
  await store.save(state(1, []));
  const big = 'x'.repeat(1000);
  let entries: [string, string][] = [];
  for (let revision = 2; revision < 200; revision++) {
    entries = [...entries, [`k${revision}`, big]];
    await store.save(state(revision, entries), [{ key: `k${revision}`, value: big }]);
  }
  const logSize = (await stat(path.join(dir, FLEET_LOG_FILE)).catch(() => ({ size: 0 }))).size;
  assert.ok(logSize < 2 * (await stat(path.join(dir, 'fleet-state.json'))).size + 64 * 1024 + 2000, `the log is bounded: ${logSize} bytes`);
  await store.save(state(300, [['only', '1']]));
  await store.close();
  assert.equal((await stat(path.join(dir, FLEET_LOG_FILE)).catch(() => undefined)), undefined, 'a checkpoint starts the log again');
  const loaded = await new FleetStateStore(dir, '/p/').load();
  assert.deepEqual([loaded.state?.revision, [...loaded.state!.entries]], [300, [['only', '1']]]);
});

test('another prefix\'s state is not used', async (t) => {
  const dir = await tempDir(t);
  const store = new FleetStateStore(dir, '/p/');
  await store.save(state(3, [['a', '1']]));
  await store.close();
  const other = await new FleetStateStore(dir, '/q/').load();
  assert.equal(other.state, undefined);
  assert.match((other as { problem?: string }).problem ?? '', /holds prefix \/p\/, not \/q\//);
});
