// What a replica adds to each watch event, in one process and without a
// socket: the same stream of one-key changes pushed through the client's
// watch manager to a plain watch callback and to a replica (copy on the
// changed path, freeze of the new nodes, its listener), alternating, µs per
// event. Usage: node dist/bench/replica-apply-cost.js [--events N]
import { parseArgs } from 'node:util';
import { Replica } from '../client/replica.js';
import { WatchManager } from '../client/watches.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' } } });
const events = Number(values.events);

/** A watch manager whose one watch is answered at once with a small document. */
function manager(): WatchManager {
  return new WatchManager({
    watch: async () => ({ id: 1, ok: true, watchId: 1, epoch: 'e', revision: 1, snapshot: { exists: true, value: { bench: { t: 0 }, other: { a: 1 } } } }),
    unwatch: () => undefined,
    isConnected: () => true,
    onResynced: () => undefined,
  });
}

async function perEvent(kind: 'watch' | 'replica'): Promise<number> {
  const watches = manager();
  let seen = 0;
  const fail = (error: Error) => {
    throw error;
  };
  if (kind === 'replica') new Replica([], watches, { fail, barrier: async () => ({ epoch: 'e', revision: 0 }) }).listen(() => seen++);
  else watches.open([], { initial: 'none' }, () => seen++, fail);
  await new Promise((resolve) => setImmediate(resolve)); // the watch's answer is adopted
  const t0 = performance.now();
  for (let i = 0; i < events; i++) watches.onPush({ type: 'event', watchId: 1, revision: i + 2, source: 'client', changes: [{ path: ['bench', 't'], value: i }] });
  const us = ((performance.now() - t0) * 1000) / events;
  if (seen !== events) throw new Error(`${kind}: ${seen} of ${events} events delivered`);
  return us;
}

const rounds: Record<'watch' | 'replica', number[]> = { watch: [], replica: [] };
for (let r = 0; r < 5; r++) for (const kind of ['watch', 'replica'] as const) rounds[kind].push(await perEvent(kind));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  `${events} events, median of 5 rounds: plain watch ${median(rounds.watch).toFixed(3)} µs/event, replica ${median(rounds.replica).toFixed(3)} µs/event ` +
    `(+${(median(rounds.replica) - median(rounds.watch)).toFixed(3)} µs)\n`,
);
