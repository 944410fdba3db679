// One connection of the fleet source to etcd: a fresh etcd3 client and, once
// established, one watch. It ends at the first disconnect or failure and is
// then thrown away whole, so no state of a broken connection (a half-attached
// watch, a grown backoff) carries into the next one.
import type { Etcd3, Watcher } from 'etcd3';
import { openEtcdClient, type EtcdClientTiming } from './etcd-client.js';
import type { FleetConnection } from './fleet-connection.js';

export interface Session {
  client: Etcd3;
  watcher: Watcher | undefined;
  /** Ends the session: `done` resolves, or rejects with `error`. Later calls do nothing. */
  end(error?: Error): void;
  done: Promise<void>;
  ended: boolean;
}

export async function openSession(connection: FleetConnection, timing: EtcdClientTiming): Promise<Session> {
  const client = await openEtcdClient(connection, timing);
  let end!: (error?: Error) => void;
  const session: Session = {
    client,
    watcher: undefined,
    ended: false,
    end: (error) => end(error),
    done: new Promise<void>((resolve, reject) => {
      end = (error) => {
        if (session.ended) return;
        session.ended = true;
        if (error === undefined) resolve();
        else reject(error);
      };
    }),
  };
  // Awaited by whoever follows the session; marked handled here because a failed save can end it before that.
  session.done.catch(() => undefined);
  return session;
}

/** Cancels the watch and closes the client, waiting at most `cancelMs` on an etcd that may be gone. */
export async function closeSession(session: Session, onError: (error: unknown) => void, cancelMs = 1000): Promise<void> {
  session.end();
  if (session.watcher !== undefined) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([session.watcher.cancel().catch(onError), new Promise((resolve) => (timer = setTimeout(resolve, cancelMs)))]);
    clearTimeout(timer);
  }
  session.client.close();
}

/** The value of `call()`, or undefined as soon as the session ends (closing must not wait out an etcd call). */
export async function untilEnded<T>(session: Session, call: () => Promise<T>): Promise<T | undefined> {
  if (session.ended) return undefined;
  return Promise.race([call(), session.done.then(() => undefined)]);
}
