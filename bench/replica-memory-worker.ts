// Memory a replica costs: one plain client connects first (modules, codec,
// connection), then --clients more clients with replicas of the whole
// document; the heap grown between the two, after a full GC, divided by the
// number of replicas, is the cost of one (its connection included).
import v8 from 'node:v8';
import vm from 'node:vm';
import { connect } from '../client/index.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

export interface ReplicaMemoryResult {
  replicas: number;
  /** Heap used (plus external memory) per replica, bytes. */
  bytesPerReplica: number;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const worker = startWorker('replica-memory-worker', { socket: { type: 'string' }, clients: { type: 'string', default: '5' } });
const socketPath = stringArg(worker.values, 'socket');
const count = numberArg(worker.values, 'clients');

const used = () => {
  for (let i = 0; i < 3; i++) gc();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.external;
};
const plain = connect({ socketPath, name: 'bench-memory-plain' });
await plain.get('', { fresh: true });
const before = used();
const replicas = Array.from({ length: count }, (_, i) => connect({ socketPath, name: `bench-memory-replica-${i}`, replica: true }));
await Promise.all(replicas.map((client) => client.synced()));
const after = used();
await worker.ready();
for (const client of [plain, ...replicas]) client.close();
worker.finish({ replicas: count, bytesPerReplica: Math.round((after - before) / count) } satisfies ReplicaMemoryResult);
