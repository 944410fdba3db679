// A client's local copy of the document (or of one subtree): a snapshot at
// connect kept current by a watch of the same machinery as client.watch()
// (resumed by revision, resynced by snapshot diff), read synchronously.
// The copy is frozen and structurally shared: an update copies only the
// nodes on the changed path, so it costs in proportion to the change and
// unchanged subtrees keep their identity (docs/decisions.md, "Replica").
import { childOf, formatPath, isPrefix, parsePath } from '../protocol/paths.js';
import { ClientErrorCode, ConfigSidecarError } from './client-errors.js';
import type { ChangeEvent, WatchControl, WatchManager } from './watches.js';
import { ABSENT, type View } from './watch-view.js';

export interface ReplicaOptions {
  /**
   * A round trip that returns the sidecar's epoch and committed revision (ping): answered after the
   * events of every revision up to it, so it tells how far an established watch has got.
   */
  barrier(): Promise<{ epoch: string; revision: number }>;
  /** Reads throw STALE when the replica has not heard from the sidecar for longer than this (ms). */
  maxStalenessMs?: number;
  /** Where a refused watch or a throwing listener goes. */
  fail(error: Error): void;
}

/** A listener of the replica: the event, the replicated value after it and before it. */
export type ReplicaListener = (event: ChangeEvent, after: View, before: View) => void;

/** A write's acknowledgement that reads must reflect: its epoch and revision, and the replica's epoch when it arrived. */
interface Floor {
  epoch: string;
  revision: number;
  epochAtAck: string;
}

/** Parsed dot paths, kept for the hot path (bounded: cleared when full). */
const PARSED_LIMIT = 4096;

export class Replica {
  private view: View = ABSENT;
  private isSynced = false;
  private epoch = '';
  /** Since when the replica has not been live (undefined while it is). */
  private downSince: number | undefined = Date.now();
  private floor: Floor | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<ReplicaListener>();
  private readonly parsed = new Map<string, string[]>();
  private readonly control: WatchControl;
  private syncedPromise: Promise<void> | undefined;
  /** Why the replica's watch ended (the sidecar refused it): synced() rejects with it. */
  private failure: Error | undefined;

  constructor(
    readonly prefix: readonly string[],
    watches: WatchManager,
    private readonly options: ReplicaOptions,
  ) {
    this.control = watches.control(
      prefix,
      { initial: 'snapshot' },
      this.apply,
      (error) => {
        this.failure = error;
        for (const waiter of [...this.waiters]) waiter();
        options.fail(error);
      },
      () => {
        for (const waiter of [...this.waiters]) waiter();
      },
    );
  }

  /** Resolves once the first snapshot is in (rejects if the client closes first). */
  synced(closed: Promise<void>): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    this.syncedPromise ??= new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.isSynced) resolve();
        else if (this.failure !== undefined) reject(this.failure);
        else return;
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
      void closed.then(() => {
        this.waiters.delete(check);
        reject(new ConfigSidecarError(ClientErrorCode.CLOSED, 'the client closed before its replica was synced'));
      });
    });
    return this.syncedPromise;
  }

  get ready(): boolean {
    return this.isSynced;
  }

  /** The replicated value at `segments` (which lie under the prefix), undefined where nothing is. */
  read(path: string | readonly string[]): unknown {
    this.check();
    const segments = this.segmentsOf(path);
    if (!isPrefix(this.prefix, segments)) {
      throw new ConfigSidecarError(ClientErrorCode.NOT_REPLICATED, `${formatPath(segments) || '(root)'} is outside the replicated prefix ${formatPath(this.prefix)}`);
    }
    if (!this.view.exists) return undefined;
    let node: unknown = this.view.value;
    for (let i = this.prefix.length; i < segments.length && node !== undefined; i++) node = childOf(node, segments[i]!);
    return node;
  }

  /** Whether `path` lies under the prefix (a read of it can be answered here). */
  covers(path: string | readonly string[]): boolean {
    return isPrefix(this.prefix, this.segmentsOf(path));
  }

  /** The whole replicated value (frozen), undefined when nothing is at the prefix. */
  store(): unknown {
    this.check();
    return this.view.exists ? this.view.value : undefined;
  }

  /** The revision the replica reflects. */
  revision(): number {
    return this.control.position().revision;
  }

  /** The epoch of the sidecar the replica last synced with. */
  epochOf(): string {
    return this.epoch;
  }

  /** Milliseconds since the replica last heard from the sidecar: 0 while its watch is live on the connection. */
  staleness(): number {
    if (this.control.live()) {
      this.downSince = undefined;
      return 0;
    }
    this.downSince ??= Date.now();
    return Date.now() - this.downSince;
  }

  /** The connection dropped: staleness counts from now. */
  onLost(): void {
    this.downSince ??= Date.now();
  }

  /**
   * A write of this client was acknowledged at (epoch, revision): reads must reflect it from now on.
   * Resolves once they do, or when `deadline` passes (reads then throw STALE until the replica catches up).
   */
  acknowledged(epoch: string, revision: number, touches: boolean, deadlineMs: number): Promise<void> {
    if (!touches) return Promise.resolve(); // nothing under the prefix changed: the copy already reflects it
    const floor: Floor = { epoch, revision, epochAtAck: this.epoch };
    if (this.reached(floor)) return Promise.resolve();
    // Usually the revision's event arrives before the write's answer; when it does not (the watch is being
    // re-established, or the write changed nothing and its revision is another path's), a barrier settles it.
    return new Promise<void>((resolve) => {
      let barrierAt: number | undefined;
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (this.reached(floor)) return done();
        const session = this.control.session();
        if (session === undefined || barrierAt === session) return;
        barrierAt = session;
        this.options.barrier().then(
          (position) => {
            if (position.epoch === this.control.position().epoch) this.control.advance(position.revision, session);
            check();
          },
          // The link dropped or the client closed: the next establishment (or the deadline) settles it.
          () => undefined,
        );
      };
      const timer = setTimeout(() => {
        // The write is acknowledged and must resolve; until the copy reflects it, reads refuse rather than go back.
        if (this.floor === undefined || this.reached(this.floor) || (floor.epoch === this.floor.epoch && floor.revision > this.floor.revision)) this.floor = floor;
        done();
      }, Math.max(0, deadlineMs));
      this.waiters.add(check);
      check();
    });
  }

  /** Adds a listener of every change of the copy (after it is applied); returns its remover. */
  listen(listener: ReplicaListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.control.close();
  }

  private readonly apply = (event: ChangeEvent, after: View, before: View): void => {
    if (after.exists) freezeNew(after.value);
    this.view = after;
    this.epoch = event.epoch;
    this.isSynced = true;
    this.downSince = undefined;
    for (const waiter of [...this.waiters]) waiter();
    if (event.source === 'snapshot') return; // the value it had at connect: not a change
    for (const listener of [...this.listeners]) {
      try {
        listener(event, after, before);
      } catch (error) {
        this.options.fail(error instanceof Error ? error : new Error(String(error)));
      }
    }
  };

  private reached(floor: Floor): boolean {
    if (this.epoch === floor.epoch) return this.control.position().revision >= floor.revision;
    // A later epoch than both the acknowledgement's and the one the replica had: its snapshot holds every durable write.
    return this.isSynced && this.epoch !== floor.epochAtAck;
  }

  private check(): void {
    if (!this.isSynced) throw new ConfigSidecarError(ClientErrorCode.NOT_READY, 'the replica has no snapshot yet: await client.synced() first');
    if (this.floor !== undefined) {
      if (!this.reached(this.floor)) {
        throw new ConfigSidecarError(ClientErrorCode.STALE, `the replica has not yet caught up with this client's write at revision ${this.floor.revision}`);
      }
      this.floor = undefined;
    }
    const max = this.options.maxStalenessMs;
    if (max !== undefined) {
      const staleness = this.staleness();
      if (staleness > max) throw new ConfigSidecarError(ClientErrorCode.STALE, `the replica has not heard from the sidecar for ${staleness} ms (maxStalenessMs ${max})`);
    }
  }

  private segmentsOf(path: string | readonly string[]): readonly string[] {
    if (typeof path !== 'string') return path;
    let segments = this.parsed.get(path);
    if (segments === undefined) {
      segments = parsePath(path);
      if (this.parsed.size >= PARSED_LIMIT) this.parsed.clear();
      this.parsed.set(path, segments);
    }
    return segments;
  }
}

/** Freezes the nodes an update created; stops at frozen ones (shared with the previous copy). */
function freezeNew(node: unknown): void {
  if (typeof node !== 'object' || node === null || Object.isFrozen(node)) return;
  Object.freeze(node);
  if (Array.isArray(node)) for (const child of node) freezeNew(child);
  else for (const key in node) freezeNew((node as Record<string, unknown>)[key]);
}
