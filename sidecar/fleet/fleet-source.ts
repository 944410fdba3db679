// The fleet layer's source: serves the last fleet state it applied (kept in
// its state directory) at once, and keeps it in step with an etcd prefix in the
// background: a read of the prefix, then a watch from the next revision;
// after a disconnect the watch resumes from the last revision it took in,
// and when etcd has compacted that revision away the prefix is read again and
// the difference delivered as one change. Nothing here waits on etcd for its caller.
import type { IWatchResponse } from 'etcd3';
import type { JsonObject } from '../store/document.js';
import { realFs, type FsOps } from '../disk/fs-ops.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './fleet-backoff.js';
import { applySteps, EMPTY_VIEW, type FleetChange, type FleetStep, type FleetView } from './fleet-changes.js';
import type { FleetConnection } from './fleet-connection.js';
import { buildFleetDocument, type FleetProblem } from './fleet-document.js';
import { FleetStateStore, type FleetOp } from './fleet-state-file.js';
import { DEFAULT_ETCD_TIMING, type EtcdClientTiming } from './etcd-client.js';
import { closeSession, openSession, untilEnded, type Session } from './fleet-session.js';

export interface FleetSourceOptions {
  connection: FleetConnection;
  /** Directory holding fleet-state.json (created 0700 when missing). */
  stateDir: string;
  /** Called with each change, in etcd's order, after it is durable; the next waits for it. */
  onChange: (change: FleetChange) => void | Promise<void>;
  /** Told about failures the source recovers from by itself (etcd unreachable, a failed save, a throwing onChange). */
  onError?: (error: Error) => void;
  backoff?: BackoffPolicy;
  etcdTiming?: Partial<EtcdClientTiming>;
  /** How often etcd's current revision is read while connected, for `lag`. */
  lagPollMs?: number;
  fs?: FsOps;
}

/** What `fleet status` shows. */
export interface FleetStatus {
  /** A watch on the prefix is established. */
  connected: boolean;
  /** etcd revision of the served state (undefined: never read from etcd). */
  revision: number | undefined;
  /** etcd's current revision as last seen. */
  etcdRevision: number | undefined;
  /** How many etcd revisions the served state may be behind etcdRevision (undefined when unknown). */
  lag: number | undefined;
  /** When the last change was delivered (ms since the epoch). */
  lastChangeAt: number | undefined;
  /** Milliseconds since etcd last confirmed the served state; 0 while connected. */
  ageMs: number | undefined;
  /** Where the served state came from: etcd in this run, the state directory, or nothing yet. */
  from: 'etcd' | 'stored' | 'none';
  /** The last failure, until the next success. */
  lastError: string | undefined;
  /** Keys under the prefix left out of the document. */
  problems: FleetProblem[];
}

export class FleetSource {
  /** Loads the stored state and starts following etcd in the background; resolves without waiting on etcd. */
  static async start(options: FleetSourceOptions): Promise<FleetSource> {
    const source = new FleetSource(options);
    await source.load();
    source.running = source.run();
    return source;
  }

  private readonly fs: FsOps;
  private readonly store: FleetStateStore;
  private readonly backoff: BackoffPolicy;
  private readonly timing: EtcdClientTiming;
  private readonly lagPollMs: number;
  /** The applied, durable state. */
  private view: FleetView = EMPTY_VIEW;
  private from: FleetStatus['from'] = 'none';
  /** Steps taken in from etcd and not yet applied; `taken` is the revision of the last one. */
  private queue: FleetStep[] = [];
  private taken: { clusterId: string | undefined; revision: number } = { clusterId: undefined, revision: 0 };
  /** The next session must read the whole prefix before watching (the watch was cancelled by etcd). */
  private mustRead = false;
  private draining: Promise<void> | undefined;
  private session: Session | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private wake: (() => void) | undefined;
  private connected = false;
  /** The revision of the last progress notification of this session. */
  private lastProgress: number | undefined;
  private etcdRevision: number | undefined;
  private syncedAt: number | undefined;
  private lastChangeAt: number | undefined;
  private lastError: string | undefined;

  private constructor(private readonly options: FleetSourceOptions) {
    this.fs = options.fs ?? realFs;
    this.store = new FleetStateStore(options.stateDir, options.connection.prefix, this.fs);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.timing = { ...DEFAULT_ETCD_TIMING, ...options.etcdTiming };
    this.lagPollMs = options.lagPollMs ?? 5000;
  }

  /** The fleet document being served. */
  document(): JsonObject {
    return this.view.built.document;
  }

  status(): FleetStatus {
    const read = this.view.clusterId !== undefined;
    const revision = read ? this.view.revision : undefined;
    const known = revision !== undefined && this.etcdRevision !== undefined;
    return {
      connected: this.connected,
      revision,
      etcdRevision: this.etcdRevision,
      lag: known ? Math.max(0, (this.etcdRevision as number) - (revision as number)) : undefined,
      lastChangeAt: this.lastChangeAt,
      ageMs: this.connected ? 0 : this.syncedAt === undefined ? undefined : Math.max(0, Date.now() - this.syncedAt),
      from: this.from,
      lastError: this.lastError,
      problems: this.view.built.problems,
    };
  }

  /** Stops following etcd; resolves once the connection is closed and the change in hand is delivered. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.session?.end();
    await this.running;
    await this.draining;
    await this.store.close();
  }

  private async load(): Promise<void> {
    await this.fs.mkdir(this.options.stateDir, 0o700);
    const loaded = await this.store.load();
    if (loaded.state === undefined) {
      if (loaded.problem !== undefined) this.fail(new Error(loaded.problem));
      return;
    }
    const { clusterId, revision, entries, syncedAt } = loaded.state;
    const map = new Map(entries);
    this.view = { clusterId, revision, entries: map, built: buildFleetDocument(map) };
    this.taken = { clusterId, revision };
    this.from = 'stored';
    this.syncedAt = syncedAt;
  }

  /** Connect, follow, and on any failure wait and connect again, until closed. */
  private async run(): Promise<void> {
    for (let attempt = 0; !this.closed; ) {
      let session: Session | undefined;
      try {
        session = await this.open();
        await this.follow(session);
      } catch (error) {
        this.fail(error);
      } finally {
        if (session !== undefined) await this.dispose(session);
      }
      if (this.connected) attempt = 0;
      if (this.connected) this.syncedAt = Date.now();
      this.connected = false;
      if (this.closed) break;
      await this.sleep(backoffDelay(attempt++, this.backoff));
    }
  }

  private async open(): Promise<Session> {
    const session = await openSession(this.options.connection, this.timing);
    this.session = session;
    if (this.closed) session.end();
    return session;
  }

  /** Reads the prefix when needed, then watches from the next revision until the session ends. */
  private async follow(session: Session): Promise<void> {
    const { client } = session;
    const prefix = this.options.connection.prefix;
    const head = await untilEnded(session, () => client.getAll().prefix(prefix).limit(1).exec());
    if (head === undefined) return session.done;
    this.seeRevision(head.header.revision);
    const current = Number(head.header.revision);
    // Watch from where we are only when our revisions are this cluster's and not ahead of it
    // (an etcd restored from an older backup restarts below us).
    if (this.mustRead || this.taken.clusterId !== head.header.cluster_id || current < this.taken.revision) {
      const all = await untilEnded(session, () => client.getAll().prefix(prefix).exec());
      if (all === undefined) return session.done;
      const entries = new Map(all.kvs.map((kv) => [kv.key.toString('utf8').slice(prefix.length), kv.value.toString('utf8')] as const));
      const revision = Number(all.header.revision);
      this.seeRevision(all.header.revision);
      this.mustRead = false;
      this.enqueue({ kind: 'read', revision, clusterId: all.header.cluster_id, entries }, all.header.cluster_id);
    }
    if (session.ended) return session.done;

    const watcher = client.watch().prefix(prefix).startRevision(String(this.taken.revision + 1)).watcher();
    session.watcher = watcher;
    this.lastProgress = undefined;
    watcher.on('connected', (res: IWatchResponse) => {
      if (session.ended) return;
      this.connected = true;
      this.lastError = undefined;
      this.seeRevision(res.header.revision);
    });
    watcher.on('data', (res: IWatchResponse) => {
      if (!session.ended) this.take(res);
    });
    // etcd cancels a watch whose start revision it has compacted away (or that lost its permission):
    // the next session reads the whole prefix and delivers the difference as one change.
    watcher.on('error', (error: Error) => {
      if (session.ended) return;
      this.mustRead = true;
      session.end(new Error(`etcd cancelled the watch of ${prefix}: ${error.message}`, { cause: error }));
    });
    watcher.on('disconnected', (error: Error) => session.end(new Error(`lost etcd: ${error.message}`, { cause: error })));

    const poll = setInterval(() => {
      client
        .getAll()
        .prefix(prefix)
        .limit(1)
        .exec()
        .then((res) => this.seeRevision(res.header.revision))
        .catch((error: unknown) => session.end(new Error(`etcd did not answer a revision check: ${(error as Error).message}`, { cause: error })));
    }, this.lagPollMs);
    try {
      await session.done;
    } finally {
      clearInterval(poll);
    }
  }

  /** Queues the events of a watch response, one step per revision, or a progress mark. */
  private take(res: IWatchResponse): void {
    this.seeRevision(res.header.revision);
    const prefix = this.options.connection.prefix;
    if (res.events.length === 0) {
      // An empty response on an established watch is a progress notification: nothing under
      // the prefix is pending up to header.revision. etcd before 3.4.25 / 3.5.8 could send one
      // just ahead of the event of that same revision, so a revision is trusted once notified
      // twice; the first time, only the revision before it is.
      if (!this.connected) return;
      const revision = Number(res.header.revision);
      const trusted = revision === this.lastProgress ? revision : revision - 1;
      this.lastProgress = revision;
      this.enqueue({ kind: 'progress', revision: trusted }, this.taken.clusterId);
      return;
    }
    let step: Extract<FleetStep, { kind: 'revision' }> | undefined;
    for (const event of res.events) {
      const revision = Number(event.kv.mod_revision);
      if (step !== undefined && step.revision !== revision) {
        this.enqueue(step, this.taken.clusterId);
        step = undefined;
      }
      step ??= { kind: 'revision', revision, ops: [] };
      step.ops.push({ key: event.kv.key.toString('utf8').slice(prefix.length), value: event.type === 'Delete' ? undefined : event.kv.value.toString('utf8') });
    }
    if (step !== undefined) this.enqueue(step, this.taken.clusterId);
  }

  private enqueue(step: FleetStep, clusterId: string | undefined): void {
    // A revision taken in already is never taken again (a watch that resumed too early).
    if (step.kind !== 'read' && step.revision <= this.taken.revision) return;
    this.taken = { clusterId, revision: step.revision };
    this.queue.push(step);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Applies queued steps in batches: one durable write per batch, then each change delivered in order. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const { view, changes, durable } = applySteps(this.view, batch);
      if (durable) {
        const syncedAt = Date.now();
        try {
          await this.store.save(
            { prefix: this.options.connection.prefix, clusterId: view.clusterId ?? '', revision: view.revision, syncedAt, entries: view.entries },
            watchOps(batch, this.view.revision),
          );
        } catch (error) {
          // Nothing of the batch is applied; follow etcd again from the last durable revision.
          this.queue = [];
          this.taken = { clusterId: this.view.clusterId, revision: this.view.revision };
          this.fail(new Error(`could not save the fleet state: ${(error as Error).message}`, { cause: error }));
          this.session?.end(new Error('fleet state not saved'));
          return;
        }
        this.syncedAt = syncedAt;
        this.from = 'etcd';
      }
      this.view = view;
      for (const change of changes) {
        this.lastChangeAt = Date.now();
        try {
          await this.options.onChange(change);
        } catch (error) {
          this.fail(new Error(`the fleet change of etcd revision ${change.revision} was not taken: ${(error as Error).message}`, { cause: error }));
        }
      }
    }
  }

  private seeRevision(text: string): void {
    const revision = Number(text);
    if (this.etcdRevision === undefined || revision > this.etcdRevision) this.etcdRevision = revision;
  }

  private async dispose(session: Session): Promise<void> {
    if (this.session === session) this.session = undefined;
    await closeSession(session, (error) => this.fail(error));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.lastError = err.message;
    this.options.onError?.(err);
  }
}


/** The key changes of a batch made only of watch events (after `from`), in order; undefined when it holds a read of the whole prefix. */
function watchOps(batch: readonly FleetStep[], from: number): FleetOp[] | undefined {
  const ops: FleetOp[] = [];
  let at = from;
  // As applySteps takes them: a revision at or below one already reached is not applied again.
  for (const step of batch) {
    if (step.kind === 'read') return undefined;
    if (step.revision <= at) continue;
    if (step.kind === 'revision') ops.push(...step.ops);
    at = step.revision;
  }
  return ops;
}
