// Replica coherence under random faults (fast-check): several clients with
// replicas write random keys, drop their connections, and the sidecar is
// killed with -9 and restarted. After every step each replica is read
// synchronously and checked against the writers' acknowledged log: its
// revisions never go back, every value it serves is the one committed at
// the revision it reports, and a client reads its own acknowledged writes.
// At the end every replica equals the document. REPLICA_ROUNDS runs (default
// 2; 100 in `npm run chaos`), REPLICA_SEED replays a printed seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { connect, type ConfigClient } from '../../client/index.js';
import { startSidecar, type SidecarProcess } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const ROUNDS = Number(process.env.REPLICA_ROUNDS ?? 2);
const SEED = Number(process.env.REPLICA_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 3;
const KEYS = ['a', 'b', 'c', 'd'];

type Step = { kind: 'set'; client: number; key: number } | { kind: 'drop'; client: number } | { kind: 'kill' } | { kind: 'pause'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('set' as const), client: fc.nat(CLIENTS - 1), key: fc.nat(KEYS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 20 }) }) },
);

/** The writers' acknowledged log: in order (writes are made one at a time). */
interface Acked {
  revision: number;
  key: string;
  value: string;
}

/** The value of `key` committed at `revision`: the last acknowledged write of it at or before. */
function committedAt(log: readonly Acked[], revision: number, key: string): string | undefined {
  let value: string | undefined;
  for (const write of log) if (write.revision <= revision && write.key === key) value = write.value;
  return value;
}

test(`replicas stay coherent through random writes, disconnects and kill -9 (seed ${SEED}, ${ROUNDS} rounds)`, async (t) => {
  console.log(`replica coherence seed: ${SEED} (REPLICA_SEED=${SEED} replays it)`);
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60 }), async (steps) => {
      const paths = await testPaths(t);
      let sidecar: SidecarProcess = await startSidecar(t, paths);
      const clients: ConfigClient[] = Array.from({ length: CLIENTS }, () =>
        connect({ socketPath: paths.socketPath, replica: true, reconnect: { baseMs: 5, maxMs: 40 }, defaultTimeoutMs: 15_000 }),
      );
      const lastRevision = clients.map(() => 0);
      const log: Acked[] = [];
      let n = 0;
      /** Reads every replica now and checks it against the log. */
      const checkAll = () => {
        for (const [i, client] of clients.entries()) {
          const revision = client.revision();
          assert.ok(revision >= lastRevision[i]!, `client ${i}: revision ${revision} after ${lastRevision[i]}`);
          lastRevision[i] = revision;
          for (const key of KEYS) assert.equal(client.getSync(key), committedAt(log, revision, key), `client ${i} at revision ${revision}, key ${key}`);
        }
      };
      try {
        await Promise.all(clients.map((client) => client.synced()));
        for (const action of steps) {
          if (action.kind === 'set') {
            const key = KEYS[action.key]!;
            const value = `c${action.client}-${n++}`;
            const client = clients[action.client]!;
            const { revision } = await client.set(key, value);
            log.push({ revision, key, value });
            assert.ok(client.revision() >= revision, `read-your-writes: client ${action.client} at ${client.revision()} after its write at ${revision}`);
            assert.equal(client.getSync(key), value, `read-your-writes: client ${action.client} reads its ${key}`);
          } else if (action.kind === 'drop') {
            (clients[action.client] as unknown as { connection: { dropMalformed(reason: string): void } }).connection.dropMalformed('test: dropped the link');
          } else if (action.kind === 'kill') {
            await sidecar.kill9();
            checkAll(); // served from the copies while no sidecar runs
            sidecar = await startSidecar(t, paths);
          } else {
            await new Promise((resolve) => setTimeout(resolve, action.ms));
          }
          checkAll();
        }
        // Converged: every replica ends at the document as the sidecar has it.
        const dump = await clients[0]!.get('', { fresh: true });
        for (const [i, client] of clients.entries()) {
          const deadline = Date.now() + 15_000;
          while (JSON.stringify(client.store) !== JSON.stringify(dump) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
          assert.deepEqual(client.store, dump, `client ${i} converged`);
        }
      } finally {
        await Promise.all(clients.map((client) => client.close()));
        await sidecar.stop();
      }
    }),
    { numRuns: ROUNDS, seed: SEED, endOnFailure: true },
  );
});
