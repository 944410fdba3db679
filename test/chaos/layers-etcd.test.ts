// Sidecars serving a fleet layer under etcd trouble, with counts from the
// environment: etcd killed and restarted FLEET_KILL_ROUNDS times under a stream
// of puts while a client keeps reading and writing (the sidecar serves
// throughout, and the fleet changes its watcher sees are exactly etcd's history
// of the prefix: none missed, none twice); three sidecars on one etcd converge
// on etcd's document after a burst of FLEET_PUTS puts and deletes (seeded: FLEET_SEED).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { connect, type ChangeEvent, type ConfigClient } from '../../client/index.js';
import { buildFleetDocument } from '../../sidecar/fleet/fleet-document.js';
import { etcdSkipReason, startEtcd } from '../helpers/etcd-server.js';
import { etcdWriter, putStream } from '../helpers/fleet-harness.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';
import { recorder } from '../helpers/watch-recorder.js';
import { seededRandom } from '../helpers/seeded-random.js';

const skip = await etcdSkipReason();
const KILL_ROUNDS = Number(process.env.FLEET_KILL_ROUNDS ?? 1);
const PUTS = Number(process.env.FLEET_PUTS ?? 1000);
const seed = Number(process.env.FLEET_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PREFIX = '/fleet/layers/';

/** etcd's history of `prefix` after revision `after`, one `key=i` per event (values are `{"i":N}`), up to a marker put last. */
async function prefixEvents(client: Etcd3, prefix: string, after: number): Promise<string[]> {
  const marker = `${prefix}~end`;
  const out: string[] = [];
  const watcher = await client.watch().prefix(prefix).startRevision(String(after + 1)).create();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the history of ${prefix} was not replayed within 10 s`)), 10_000);
      watcher.on('data', (res) => {
        for (const event of res.events) {
          const key = event.kv.key.toString().slice(prefix.length);
          if (key === '~end') {
            clearTimeout(timer);
            resolve();
            return;
          }
          out.push(event.type === 'Delete' ? `${key} deleted` : `${key}=${(JSON.parse(event.kv.value.toString()) as { i: number }).i}`);
        }
      });
      client.put(marker).value('true').exec().catch(reject);
    });
  } finally {
    await watcher.cancel();
  }
  return out;
}

/** The fleet changes a watcher of the whole document saw, in the same `key=i` form. */
function fleetEvents(events: ChangeEvent[]): string[] {
  return events
    .filter((event) => event.source === 'fleet')
    .flatMap((event) =>
      event.changes.map((change) => {
        const [key] = change.path as string[];
        if (key === '~end') return '~end';
        if ('deleted' in change && change.deleted === true && change.path.length === 1) return `${key} deleted`;
        const value = (change as { value?: unknown }).value;
        return `${key}=${typeof value === 'object' && value !== null ? (value as { i: number }).i : String(value)}`;
      }),
    )
    .filter((entry) => entry !== '~end');
}

async function fleetRevision(client: ConfigClient): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const fleet = (await client.info()).fleet as { connected: boolean; revision?: number } | undefined;
    if (fleet?.connected === true && fleet.revision !== undefined) return fleet.revision;
    assert.ok(Date.now() < deadline, `the fleet layer did not connect: ${JSON.stringify(fleet)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('sidecars serving a fleet layer under etcd trouble', { skip, concurrency: true }, () => {
  test(`etcd killed and restarted ${KILL_ROUNDS} times under puts: the sidecar serves throughout and applies etcd's history exactly once`, async (t) => {
    const etcd = await startEtcd(t);
    const paths = await testPaths(t);
    const kv = await etcdWriter(t, etcd.endpoint);
    await startSidecar(t, paths, { extraArgs: ['--fleet', `etcd://${etcd.endpoint}${PREFIX}`] });
    const client = connect({ socketPath: paths.socketPath, defaultTimeoutMs: 10_000 });
    t.after(() => client.close());
    const from = await fleetRevision(client);
    const watch = recorder(client.watch('', { initial: 'none' }));
    await client.ping();

    // A local client reads and writes all along; none of its calls may fail.
    let localOps = 0;
    let slowestMs = 0;
    let stopLocal = false;
    const local = (async () => {
      while (!stopLocal) {
        const started = performance.now();
        await client.set('local.n', localOps);
        assert.equal(await client.get('local.n'), localOps);
        slowestMs = Math.max(slowestMs, performance.now() - started);
        localOps++;
      }
    })();

    const writer = putStream(kv, PREFIX, 8);
    for (let round = 0; round < KILL_ROUNDS; round++) {
      await writer.reach(writer.count + 15 + (round % 3) * 10, 15_000);
      await etcd.kill();
      const before = localOps;
      await new Promise((resolve) => setTimeout(resolve, (round % 4) * 150));
      // Local reads and writes go on while etcd is down (waited for with a bound, however slow the machine).
      const deadline = Date.now() + 15_000;
      while (localOps < before + 2) {
        assert.ok(Date.now() < deadline, `only ${localOps - before} local set+get pairs in 15 s while etcd was down`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await etcd.start();
    }
    await writer.reach(writer.count + 20, 15_000);
    await writer.stop();
    stopLocal = true;
    await local;

    const expected = await prefixEvents(kv, PREFIX, from);
    // The marker is the last fleet change: once the watcher has it, it has everything before it.
    const deadline = Date.now() + 15_000;
    while (!watch.events.some((event) => event.changes.some((change) => change.path[0] === '~end'))) {
      assert.ok(Date.now() < deadline, `the end marker never reached the watcher; ${fleetEvents(watch.events).length} of ${expected.length} fleet changes did`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(fleetEvents(watch.events), expected);
    t.diagnostic(`${expected.length} fleet revisions applied once each; ${localOps} local set+get pairs, slowest ${slowestMs.toFixed(1)} ms`);
  });

  test(`three sidecars converge on etcd's document after a burst of ${PUTS} puts and deletes (FLEET_SEED=${seed})`, async (t) => {
    const etcd = await startEtcd(t);
    const kv = await etcdWriter(t, etcd.endpoint);
    const clients: ConfigClient[] = [];
    for (let n = 0; n < 3; n++) {
      const paths = await testPaths(t);
      await startSidecar(t, paths, { extraArgs: ['--fleet', `etcd://${etcd.endpoint}${PREFIX}`] });
      const client = connect({ socketPath: paths.socketPath, defaultTimeoutMs: 10_000 });
      t.after(() => client.close());
      await fleetRevision(client);
      clients.push(client);
    }
    const random = seededRandom(seed);
    for (let sent = 0; sent < PUTS; ) {
      const wave = Math.min(50, PUTS - sent);
      await Promise.all(
        Array.from({ length: wave }, (_, j) => {
          const key = `${PREFIX}k${Math.floor(random() * 40)}`;
          return random() < 0.15 ? kv.delete().key(key).exec() : kv.put(key).value(JSON.stringify({ i: sent + j })).exec();
        }),
      );
      sent += wave;
    }
    const all = await kv.getAll().prefix(PREFIX).strings();
    const expected = buildFleetDocument(new Map(Object.entries(all).map(([key, value]) => [key.slice(PREFIX.length), value]))).document;
    const deadline = Date.now() + 60_000;
    for (const [n, client] of clients.entries()) {
      for (;;) {
        const served = await client.get('');
        try {
          assert.deepEqual(served, expected);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`sidecar ${n} did not converge within 60 s`, { cause: error });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
  });
});
