// A client process for integration tests: runs one scenario against a
// sidecar and prints one JSON line with what happened.
// Usage: node client-worker.js <scenario> <args...>
import { readFile } from 'node:fs/promises';
import { connect, ConfigSidecarError, type ConfigClient } from '../../client/index.js';
import { applyChange, ABSENT, type View } from '../../client/watch-view.js';

type Scenario = (args: string[]) => Promise<unknown>;

const scenarios: Record<string, Scenario> = {
  /** counter SOCKET N: N read-modify-write increments of "counter" through update(). */
  async counter([socketPath, n]) {
    const client = connect({ socketPath: socketPath! });
    try {
      for (let i = 0; i < Number(n); i++) await client.update('counter', (value) => ((value as number | undefined) ?? 0) + 1, { timeoutMs: 30_000 });
      return { done: Number(n) };
    } finally {
      client.close();
    }
  },

  /** raw-reader CONFIG READS: reads and parses the file directly, as a program that ignores the sidecar would. */
  async 'raw-reader'([configPath, reads]) {
    let ok = 0;
    let missing = 0;
    const failures: string[] = [];
    for (let i = 0; i < Number(reads); i++) {
      let text: string;
      try {
        text = await readFile(configPath!, 'utf8');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') {
          missing++;
          continue;
        }
        throw error;
      }
      try {
        JSON.parse(text);
        ok++;
      } catch (error) {
        failures.push(`${(error as Error).message} (${text.length} bytes)`);
      }
    }
    return { ok, missing, failures };
  },

  /** writer SOCKET PREFIX COUNT: sequential sets of PREFIX.k<i> = i. */
  async writer([socketPath, prefix, count]) {
    const client = connect({ socketPath: socketPath! });
    try {
      for (let i = 0; i < Number(count); i++) await client.set(`${prefix}.k${i}`, i, { timeoutMs: 30_000 });
      return { acked: Number(count) };
    } finally {
      client.close();
    }
  },

  /**
   * calls-through-restart SOCKET DURATION_MS: keeps 8 calls (gets and sets) going for the
   * duration, each with a 3 s deadline, and counts how each one ended. Prints once
   * "connected" has been seen twice (the sidecar was restarted underneath) or the duration ends.
   */
  async 'calls-through-restart'([socketPath, durationMs]) {
    const client = connect({ socketPath: socketPath! });
    const outcomes: Record<string, number> = {};
    let started = 0;
    let settled = 0;
    let connects = 0;
    client.on('status', (event) => {
      if (event.type === 'connected') connects++;
      if (event.type === 'connected' && connects === 1) process.stdout.write('READY\n');
    });
    const end = Date.now() + Number(durationMs);
    const loop = async (lane: number) => {
      for (let i = 0; Date.now() < end; i++) {
        started++;
        try {
          if (i % 2 === 0) await client.set(`lane${lane}`, i, { timeoutMs: 3000 });
          else await client.get('', { timeoutMs: 3000 });
          outcomes.ok = (outcomes.ok ?? 0) + 1;
        } catch (error) {
          const code = error instanceof ConfigSidecarError ? error.code : `unexpected: ${(error as Error).message}`;
          outcomes[code] = (outcomes[code] ?? 0) + 1;
        } finally {
          settled++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, lane) => loop(lane)));
    // After the restart the client must be connected again and serving calls.
    const after = await client.get('', { timeoutMs: 5000 }).then(
      () => 'ok',
      (error: unknown) => String((error as Error).message),
    );
    client.close();
    return { started, settled, outcomes, connects, after };
  },
};

/** One watcher's record: every event as [revision, epoch, resync?], and its final copy of the document. */
export interface WatchRecord {
  events: [number, string, boolean][];
  startRevision: number;
  startEpoch: string;
  view: unknown;
}

/**
 * Watches the whole document with COUNT separate clients until each sees `done` = TOKEN.
 * STALL_MS > 0: the process blocks its event loop that long once the first change arrives (a stuck reader).
 */
async function watchUntilDone(socketPath: string, count: number, token: string, stallMs: number, onAllStarted: () => void): Promise<WatchRecord[]> {
  const clients: ConfigClient[] = [];
  let started = 0;
  const records = await Promise.all(
    Array.from({ length: count }, async () => {
      const client = connect({ socketPath, defaultTimeoutMs: 30_000 });
      clients.push(client);
      const record: WatchRecord = { events: [], startRevision: 0, startEpoch: '', view: undefined };
      let view: View = ABSENT;
      let stalled = stallMs <= 0;
      for await (const event of client.watch('')) {
        if (event.source === 'snapshot') {
          record.startRevision = event.revision;
          record.startEpoch = event.epoch;
          if (++started === count) onAllStarted();
        } else {
          record.events.push([event.revision, event.epoch, event.resync === true]);
        }
        for (const change of event.changes) view = applyChange(view, [], change);
        if (!stalled && event.source !== 'snapshot') {
          stalled = true;
          const until = Date.now() + stallMs;
          while (Date.now() < until) {
            // Busy on purpose: nothing is read from the socket meanwhile.
          }
        }
        if (view.exists && (view.value as Record<string, unknown>).done === token) break;
      }
      record.view = view.exists ? view.value : undefined;
      return record;
    }),
  );
  for (const client of clients) client.close();
  return records;
}

/**
 * replicas SOCKET COUNT TOKEN: COUNT clients with replicas; READY once all are synced, then waits
 * until every copy reads "done" = TOKEN and prints each copy's store and revision sequence.
 */
scenarios.replicas = async ([socketPath, count, token]) => {
  const clients = Array.from({ length: Number(count) }, () => connect({ socketPath: socketPath!, replica: true, defaultTimeoutMs: 60_000 }));
  const revisions: number[][] = clients.map(() => []);
  clients.forEach((client, i) => client.onDidChange('', () => revisions[i]!.push(client.revision())));
  await Promise.all(clients.map((client) => client.synced()));
  process.stdout.write('READY\n');
  const deadline = Date.now() + 120_000;
  while (!clients.every((client) => client.getSync('done') === token)) {
    if (Date.now() > deadline) throw new Error('the replicas did not all see the done marker within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const stores = clients.map((client) => client.store);
  await Promise.all(clients.map((client) => client.close()));
  return stores.map((store, i) => ({ store, revisions: revisions[i] }));
};

scenarios.watchers = async ([socketPath, count, token, stallMs]) => {
  return watchUntilDone(socketPath!, Number(count), token!, Number(stallMs ?? 0), () => process.stdout.write('READY\n'));
};

/** logged-writer SOCKET PREFIX COUNT: sets PREFIX.k<i> = i, tolerating failures; logs [key, value, revision, epoch] of each acknowledged write. */
scenarios['logged-writer'] = async ([socketPath, prefix, count]) => {
  const client = connect({ socketPath: socketPath!, defaultTimeoutMs: 10_000 });
  const acked: [string, number, number, string][] = [];
  const failed: Record<string, number> = {};
  try {
    for (let i = 0; i < Number(count); i++) {
      const key = `${prefix}.k${i}`;
      try {
        const result = await client.set(key, i);
        acked.push([key, i, result.revision, result.epoch]);
      } catch (error) {
        if (!(error instanceof ConfigSidecarError)) throw error;
        failed[error.code] = (failed[error.code] ?? 0) + 1;
      }
    }
    return { acked, failed };
  } finally {
    client.close();
  }
};

/**
 * torture-writer SOCKET INDEX DURATION_MS: sets w<INDEX> to 1, 2, 3... through sidecar kills and restarts,
 * printing "S <n>" before each send and "A <n>" after each acknowledgement, as they happen.
 */
scenarios['torture-writer'] = async ([socketPath, index, durationMs]) => {
  const client = connect({ socketPath: socketPath!, defaultTimeoutMs: 2000, reconnect: { maxMs: 100 } });
  const end = Date.now() + Number(durationMs);
  let sent = 0;
  let acked = 0;
  for (let seq = 1; Date.now() < end; seq++) {
    process.stdout.write(`S ${seq}\n`);
    sent = seq;
    try {
      await client.set(`w${index}`, seq);
      process.stdout.write(`A ${seq}\n`);
      acked++;
    } catch (error) {
      if (!(error instanceof ConfigSidecarError)) throw error;
    }
  }
  client.close();
  return { sent, acked };
};

const [name, ...args] = process.argv.slice(2);
const scenario = name === undefined ? undefined : scenarios[name];
if (scenario === undefined) {
  process.stderr.write(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}\n`);
  process.exitCode = 2;
} else {
  scenario(args).then(
    (result) => process.stdout.write(JSON.stringify(result) + '\n'),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
