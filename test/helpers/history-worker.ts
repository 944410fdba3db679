// A client process whose every call is recorded for the linearizability
// checker, driven by lines on stdin:
//   random SEED KEYS LANES   LANES loops of random get/set/delete/conditional writes on KEYS keys, until "stop"
//   stop                     ends the loops (their calls in flight finish first); prints "stopped <count>"
//   get KEY | set KEY VALUE | delete KEY   one call; prints "done <what came back>" when it returns
//   cas KEY VALUE            sets KEY only if it still holds what this process's last "get KEY" saw
//   close                    flushes the history file; prints "closed" and exits
// Usage: node history-worker.js SOCKET HISTORY_FILE TIMEOUT_MS
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { RecordingClient, type ReadEntry } from './history-recorder.js';
import { seededRandom } from './seeded-random.js';

const [socketPath, file, timeoutMs] = process.argv.slice(2);
const label = path.basename(file!, '.jsonl');
const client = connect({ socketPath: socketPath!, defaultTimeoutMs: Number(timeoutMs), reconnect: { maxMs: 100 } });
const recorder = new RecordingClient(client, file!);
let stopping = false;
let lanes: Promise<number>[] = [];
/** The last "get" of each key, for "cas". */
const lastReads = new Map<string, ReadEntry>();

/** One loop of calls until "stop": reads, blind writes, and read-then-conditional-writes; every value unique. */
async function lane(seed: number, keys: number, index: number): Promise<number> {
  const next = seededRandom(seed);
  let calls = 0;
  for (let seq = 0; !stopping; seq++) {
    const key = `k${Math.floor(next() * keys)}`;
    const value = `${label}.${index}.${seq}`;
    const dice = next();
    let failed = false;
    try {
      if (dice < 0.4) {
        await recorder.get(key);
      } else if (dice < 0.6) {
        failed = (await recorder.set(key, value)).outcome.status !== 'ok';
      } else if (dice < 0.7) {
        failed = (await recorder.delete(key)).outcome.status !== 'ok';
      } else {
        const read = await recorder.get(key);
        calls++;
        const write = await (dice < 0.95 ? recorder.set(key, value, read) : recorder.delete(key, read));
        failed = write.outcome.status === 'failed' || write.outcome.status === 'unknown';
      }
    } catch (error) {
      // A get that failed (the sidecar stopping or down) is recorded as telling nothing.
      if (!(error instanceof ConfigSidecarError)) throw error;
      failed = true;
    }
    // A sidecar that is stopping answers at once: spinning on it would only fill the history.
    if (failed) await delay(5 + next() * 20);
    calls++;
  }
  return calls;
}

async function run(command: string, args: string[]): Promise<string | undefined> {
  switch (command) {
    case 'random': {
      const [seed, keys, count] = args.map(Number);
      lanes = Array.from({ length: count! }, (_, i) => lane(seed! * 1000 + i, keys!, i));
      return undefined;
    }
    case 'stop': {
      stopping = true;
      const counts = await Promise.all(lanes);
      return `stopped ${counts.reduce((a, b) => a + b, 0)}`;
    }
    case 'get': {
      const read = await recorder.get(args[0]!).catch((error: unknown) => (error instanceof ConfigSidecarError ? error.code : Promise.reject(error)));
      if (typeof read !== 'string') lastReads.set(args[0]!, read);
      return `done ${JSON.stringify(typeof read === 'string' ? read : read.slot)}`;
    }
    case 'set':
      return `done ${(await recorder.set(args[0]!, args[1]!)).outcome.status}`;
    case 'cas': {
      const read = lastReads.get(args[0]!);
      if (read === undefined) throw new Error(`cas ${args[0]} before a get of it`);
      return `done ${(await recorder.set(args[0]!, args[1]!, read)).outcome.status}`;
    }
    case 'delete':
      return `done ${(await recorder.delete(args[0]!)).outcome.status}`;
    case 'close':
      await recorder.close();
      client.close();
      return 'closed';
    default:
      throw new Error(`unknown command ${command}`);
  }
}

await client.ready({ timeoutMs: 30_000 });
process.stdout.write('READY\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [command, ...args] = line.split(' ');
  // Calls run concurrently with later commands: a call stuck on a stopped sidecar must not hold up the next one.
  run(command!, args).then(
    (answer) => {
      if (answer !== undefined) process.stdout.write(answer + '\n');
      if (command === 'close') process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
