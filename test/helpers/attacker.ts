// A hostile process for the latency test: every attack of hostile-attacks.ts in
// turn from two loops at once, and now and then a flood of connections at once.
// Usage: node attacker.js SOCKET. Holds connections until the sidecar is nearly
// full (so a flood is refused, as in production where the limit is reached),
// then prints "READY"; stdin "start" begins a round, "stop" ends it (in-flight
// attacks settle first) and prints one JSON line {attacks, floods, failures};
// "exit" (or EOF) ends the process.
import { createInterface } from 'node:readline';
import { attacks, flood, greeted, LIMITS, type Target } from './hostile-attacks.js';
import type { RawPeer } from './raw-socket.js';

/** Between two attacks of one loop: the point is what each input costs the sidecar, not raw connection churn. */
const PAUSE_MS = 10;
/** Free connection slots left for the measuring client, the attacks' own connections, and what a flood gets served. */
const FREE_SLOTS = 16;
/** Each flood: far beyond the slots left, so almost all of it is refused (the 1,000-connection flood has its own test). */
const FLOOD_SIZE = 400;
/** Every this many attacks of the first loop, counted across rounds, and once in every round. */
const FLOOD_EVERY = 5;

interface Round {
  stop(): Promise<{ attacks: number; floods: number; failures: string[] }>;
}

let attacksOfFirstLoop = 0;

function startRound(target: Target, filler: RawPeer[]): Round {
  let stopped = false;
  let count = 0;
  let floods = 0;
  const failures: string[] = [];
  // A flood runs alone: with the sidecar full, an attack's own connection would be refused along with it.
  let gate: Promise<void> | undefined;
  let active = 0;
  let onIdle: (() => void) | undefined;
  const shared = async (run: () => Promise<void>) => {
    while (gate !== undefined) await gate;
    active++;
    try {
      await run();
    } finally {
      if (--active === 0) onIdle?.();
    }
  };
  const exclusive = async (run: () => Promise<void>) => {
    let open!: () => void;
    gate = new Promise<void>((resolve) => (open = resolve));
    while (active > 0) await new Promise<void>((resolve) => (onIdle = resolve));
    try {
      await run();
    } finally {
      gate = undefined;
      open();
    }
  };
  const record = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  };
  const all = Object.entries(attacks);
  const loop = async (offset: number, withFloods: boolean) => {
    for (let i = offset; !stopped; i++) {
      const [name, attack] = all[i % all.length]!;
      await shared(() => record(name, () => attack(target)));
      count++;
      // Every round floods at least once (after its first attack), however short the round.
      if (withFloods && (++attacksOfFirstLoop % FLOOD_EVERY === 0 || floods === 0)) {
        await exclusive(() => record('flood', () => floodRefused(target)));
        floods++;
      }
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  };
  const running = Promise.all([loop(0, true), loop(Math.floor(all.length / 2), false)]);
  return {
    stop: async () => {
      stopped = true;
      await running;
      return { attacks: count, floods, failures };
    },
  };

  async function floodRefused(target: Target): Promise<void> {
    const outcome = await flood(target, FLOOD_SIZE);
    for (const peer of outcome.served) peer.destroy();
    if (outcome.silent > 0 || outcome.served.length > FREE_SLOTS) {
      throw new Error(`flood: ${outcome.served.length} served, ${outcome.refused} refused, ${outcome.silent} closed silently`);
    }
    // The attacks need their slots back: wait, with a bound, until the sidecar has seen the served ones go.
    const settled = filler.length + 1; // the filler and the measuring client
    const deadline = Date.now() + 5000;
    for (let id = 1; ; id++) {
      const stats = await filler[0]!.request({ id, op: 'stats' });
      if ((stats.connections as number) <= settled) return;
      if (Date.now() > deadline) throw new Error(`flood: ${String(stats.connections)} connections still open after 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

async function main(socketPath: string): Promise<void> {
  const target = { socketPath };
  const filler: RawPeer[] = [];
  for (let i = 0; i < LIMITS.maxConnections - FREE_SLOTS; i++) filler.push(await greeted(target));
  process.stdout.write('READY\n');
  let round: Round | undefined;
  for await (const line of createInterface({ input: process.stdin })) {
    const command = line.trim();
    if (command === 'exit') break;
    if (command === 'start' && round === undefined) round = startRound(target, filler);
    else if (command === 'stop' && round !== undefined) {
      process.stdout.write(JSON.stringify(await round.stop()) + '\n');
      round = undefined;
    } else throw new Error(`unexpected command: ${line}`);
  }
  await round?.stop();
  for (const peer of filler) peer.destroy();
}

main(process.argv[2]!).catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
