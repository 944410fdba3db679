// The fleet source under etcd trouble, with counts from the environment:
// etcd killed and restarted FLEET_KILL_ROUNDS times under a stream of puts
// (the revisions each source delivered must be exactly etcd's own history of
// the prefix: none missed, none twice), and three sources with their own state
// directories converging on one document after FLEET_PUTS random puts and
// deletes (seeded: FLEET_SEED).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { FleetChange } from '../../sidecar/fleet/fleet-changes.js';
import { buildFleetDocument } from '../../sidecar/fleet/fleet-document.js';
import { etcdSkipReason, startEtcd } from '../helpers/etcd-server.js';
import { etcdWriter, prefixHistory, putStream, startRecordedSource } from '../helpers/fleet-harness.js';
import { testPaths } from '../helpers/temp-dir.js';

const skip = await etcdSkipReason();
const KILL_ROUNDS = Number(process.env.FLEET_KILL_ROUNDS ?? 2);
const PUTS = Number(process.env.FLEET_PUTS ?? 1000);
const seed = Number(process.env.FLEET_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PREFIX = '/fleet/chaos/';

// Each test has its own etcd; they run side by side.
describe('fleet sources under etcd trouble', { skip, concurrency: true }, () => {
  test(`etcd killed and restarted ${KILL_ROUNDS} times under puts: each source delivers exactly etcd's history of the prefix`, async (t) => {
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const kv = await etcdWriter(t, etcd.endpoint);
    // One source follows throughout; another is stopped before every other kill and started
    // again while etcd is down, resuming from its stored state.
    const steady = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'steady'));
    let restarting = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'restarting'));
    await steady.until('the first read', (changes) => changes.length === 1);
    await restarting.until('the first read', (changes) => changes.length === 1);
    const start = Math.min(steady.changes[0]?.revision ?? 0, restarting.changes[0]?.revision ?? 0);
    // Every incarnation's changes, in order.
    const restartingChanges: FleetChange[] = [];

    const writer = putStream(kv, PREFIX, 8);
    for (let round = 0; round < KILL_ROUNDS; round++) {
      await writer.reach(writer.count + 15 + (round % 3) * 10, 15_000);
      const restart = round % 2 === 0;
      if (restart) {
        await restarting.source.close();
        restartingChanges.push(...restarting.changes);
      }
      await etcd.kill();
      if (restart) restarting = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'restarting'));
      // Down for a moment or a little longer (the sources' backoff grows while it is down).
      await new Promise((resolve) => setTimeout(resolve, (round % 4) * 150));
      await etcd.start();
    }
    await writer.reach(writer.count + 20, 15_000);
    await writer.stop();

    const history = await prefixHistory(kv, PREFIX, start + 1);
    const last = history.at(-1) ?? start;
    for (const [name, s] of [['steady', steady], ['restarting', restarting]] as const) {
      await s.until(`${name}: the last put`, (changes) => (changes.at(-1)?.revision ?? 0) >= last, 20_000);
    }
    const check = (name: string, changes: FleetChange[], first: number) => {
      const delivered = changes.filter((c) => c.kind !== 'initial').map((c) => c.revision).filter((r) => r <= last);
      assert.deepEqual(delivered, history.filter((r) => r > first), `${name}: revisions delivered vs etcd's history (${history.length} revisions)`);
      assert.ok(changes.every((c) => c.kind !== 'resync'), `${name}: no re-read, nothing was compacted`);
    };
    check('steady', steady.changes, steady.changes[0]?.revision ?? 0);
    restartingChanges.push(...restarting.changes);
    check('restarting', restartingChanges, restartingChanges[0]?.revision ?? 0);
    const lost = steady.errors.filter((e) => /lost etcd|did not answer/.test(e.message)).length;
    assert.ok(lost >= KILL_ROUNDS, `the source saw etcd go away ${lost} times`);
    t.diagnostic(`${history.length} revisions across ${KILL_ROUNDS} etcd kills; ${steady.errors.length} connection failures`);
  });

  test(`three sources, one etcd: ${PUTS} puts and deletes later all serve the same document (seed ${seed})`, async (t) => {
    t.diagnostic(`FLEET_SEED=${seed}`);
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const kv = await etcdWriter(t, etcd.endpoint);
    const sources = await Promise.all(['a', 'b', 'c'].map((name) => startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, name))));
    await Promise.all(sources.map((s) => s.until('the first read', (changes) => changes.length === 1)));
    const starts = sources.map((s) => s.changes[0]?.revision ?? 0);

    const random = mulberry32(seed);
    const pick = (n: number) => Math.floor(random() * n);
    const ops = Array.from({ length: PUTS }, (_, i) => {
      const key = `${PREFIX}${['server', 'db', 'cache', 'feature'][pick(4)]}/${['port', 'host', 'size', 'on', 'list'][pick(5)]}`;
      if (pick(10) === 0) return () => kv.delete().key(key).exec();
      const value = [() => pick(65536), () => `h${pick(100)}`, () => pick(2) === 0, () => ({ n: i, tags: [pick(3)] })][pick(4)]?.();
      return () => kv.put(key).value(JSON.stringify(value)).exec();
    });
    // Eight writers at once, so revisions arrive at the sources in bursts.
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ops.length) await ops[next++]?.();
      }),
    );

    const head = await kv.getAll().prefix(PREFIX).exec();
    const revision = Number(head.header.revision);
    await Promise.all(sources.map((s, i) => s.until(`source ${i} at revision ${revision}`, () => (s.source.status().revision ?? 0) >= revision, 30_000)));
    const expected = buildFleetDocument(new Map(head.kvs.map((kv) => [kv.key.toString().slice(PREFIX.length), kv.value.toString()]))).document;
    for (const s of sources) assert.deepEqual(s.source.document(), expected);

    const history = await prefixHistory(kv, PREFIX, Math.min(...starts) + 1);
    sources.forEach((s, i) => {
      const delivered = s.changes.slice(1).map((c) => c.revision).filter((r) => r <= revision);
      assert.deepEqual(delivered, history.filter((r) => r > (starts[i] ?? 0)), `source ${i}: one change per revision of the prefix`);
    });
  });

  test('etcd frozen (connections open, no answers): the source says it is not connected, keeps serving, and resumes when etcd answers again', async (t) => {
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const kv = await etcdWriter(t, etcd.endpoint);
    await kv.put(`${PREFIX}mode`).value('"normal"').exec();
    const fleet = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'state'));
    await fleet.until('the first read', (changes) => changes.length === 1);
    await fleet.until('connected', () => fleet.source.status().connected);

    etcd.freeze();
    t.after(() => etcd.thaw());
    // The source's revision check times out (2 s in these tests; keepalive would notice later).
    await fleet.until('the freeze noticed', () => !fleet.source.status().connected, 15_000);
    assert.deepEqual(fleet.source.document(), { mode: 'normal' });
    assert.equal(fleet.source.status().from, 'etcd');

    etcd.thaw();
    const put = await kv.put(`${PREFIX}mode`).value('"after"').exec();
    await fleet.until('the put after the thaw', (changes) => changes.at(-1)?.revision === Number(put.header.revision), 15_000);
    assert.deepEqual(fleet.changes.slice(1).map((c) => [c.kind, c.revision]), [['watch', Number(put.header.revision)]]);
  });
});

/** A small seeded PRNG, so a failing run can be repeated with its FLEET_SEED. */
function mulberry32(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}
