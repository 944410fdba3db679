// A fleet source under test: started on a real etcd with short retry timings,
// its delivered changes recorded, closed when the test ends; plus an etcd3
// writer and etcd's own history of a prefix to compare deliveries against.
import type { TestContext } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { openEtcdClient } from '../../sidecar/fleet/etcd-client.js';
import type { FleetChange } from '../../sidecar/fleet/fleet-changes.js';
import { parseFleetUrl } from '../../sidecar/fleet/fleet-url.js';
import { FleetSource, type FleetSourceOptions } from '../../sidecar/fleet/fleet-source.js';

export interface RecordedSource {
  source: FleetSource;
  changes: FleetChange[];
  errors: Error[];
  /** Waits until `done(changes)` holds; rejects after `timeoutMs` naming `what` and the last status. */
  until(what: string, done: (changes: FleetChange[]) => boolean, timeoutMs?: number): Promise<void>;
}

export async function startRecordedSource(
  t: TestContext,
  endpoint: string,
  prefix: string,
  stateDir: string,
  extra: Partial<FleetSourceOptions> = {},
): Promise<RecordedSource> {
  const changes: FleetChange[] = [];
  const errors: Error[] = [];
  let wake: (() => void) | undefined;
  const source = await FleetSource.start({
    connection: parseFleetUrl(`etcd://${endpoint}${prefix}`),
    stateDir,
    onChange: (change) => {
      changes.push(change);
      wake?.();
    },
    onError: (error) => errors.push(error),
    backoff: { initialMs: 50, maxMs: 400 },
    etcdTiming: { callTimeoutMs: 2000, keepaliveMs: 10_000, maxReconnectBackoffMs: 300 },
    lagPollMs: 200,
    ...extra,
  });
  t.after(() => source.close());
  return {
    source,
    changes,
    errors,
    async until(what, done, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(changes)) {
        if (Date.now() > deadline) {
          throw new Error(`${what}: not within ${timeoutMs} ms; ${changes.length} changes, status ${JSON.stringify(source.status())}, errors: ${errors.map((e) => e.message).slice(-3).join(' | ')}`);
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

/** An etcd3 client for the test's own puts and reads (failing fast, no hidden retries), closed when the test ends. */
export async function etcdWriter(t: TestContext, endpoint: string): Promise<Etcd3> {
  const client = await openEtcdClient(parseFleetUrl(`etcd://${endpoint}/`), { callTimeoutMs: 2000, keepaliveMs: 10_000, maxReconnectBackoffMs: 200 });
  t.after(() => client.close());
  return client;
}

/**
 * etcd's own history of `prefix`: the revisions that changed a key under it, in
 * order, replayed by a watch from revision `from`. The replay ends at a marker
 * key put under the prefix (so call it last: sources see the marker too); the
 * marker's revision is left out.
 */
export async function prefixHistory(client: Etcd3, prefix: string, from = 1): Promise<number[]> {
  const marker = `${prefix}~history-end`;
  const revisions: number[] = [];
  const watcher = await client.watch().prefix(prefix).startRevision(String(from)).create();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the history of ${prefix} was not replayed within 10 s`)), 10_000);
      watcher.on('data', (res) => {
        for (const event of res.events) {
          if (event.kv.key.toString() === marker) {
            clearTimeout(timer);
            resolve();
            return;
          }
          const revision = Number(event.kv.mod_revision);
          if (revisions.at(-1) !== revision) revisions.push(revision);
        }
      });
      client.put(marker).value('true').exec().catch(reject);
    });
  } finally {
    await watcher.cancel();
  }
  return revisions;
}

/** A stream of puts under `prefix`, one after another, until stopped; a failed put (etcd down) is retried. */
export interface PutStream {
  readonly count: number;
  /** Waits until `target` puts have gone through. */
  reach(target: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export function putStream(kv: Etcd3, prefix: string, keys: number): PutStream {
  let count = 0;
  let stopped = false;
  const running = (async () => {
    for (let i = 0; !stopped; i++) {
      const ok = await kv
        .put(`${prefix}k${i % keys}`)
        .value(JSON.stringify({ i }))
        .exec()
        .then(
          () => true,
          () => false, // etcd is down or restarting: the next put tries again
        );
      if (ok) count++;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    get count() {
      return count;
    },
    async reach(target, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (count < target) {
        if (Date.now() > deadline) throw new Error(`only ${count} of ${target} puts went through within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}
