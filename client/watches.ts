// Watches on the client: created on the sidecar, fed by its events, resumed
// after every reconnect from the next revision, and resynced when the sidecar
// can no longer replay (history trimmed, or a restart changed the epoch): the
// client diffs its copy of the watched value against a fresh snapshot and
// emits exactly the difference, flagged `resync`. Never an error, never a gap.
import { parsePath, type PathInput, WatchEventSchema, WatchProgressSchema, WatchResultSchema } from '../protocol/index.js';
import type { CallOptions } from './calls.js';
import { ConfigSidecarError } from './client-errors.js';
import { ABSENT, applyChange, diffViews, type View, type ViewChange } from './watch-view.js';

/** One delivery to a watcher. */
export interface ChangeEvent {
  /** The revision this event brings the watcher up to. */
  revision: number;
  epoch: string;
  /** Who made the revision; 'snapshot' for the initial value, 'resync' for a catch-up diff. */
  source: 'client' | 'file' | 'reload' | 'migration' | 'snapshot' | 'resync';
  /** Every change under the watched path in this revision, in order. Paths are segment arrays. */
  changes: ViewChange[];
  /** Set when the sidecar could not replay missed revisions and this is the difference instead. */
  resync?: true;
}

export interface WatchOptions {
  /** 'snapshot' (default): the first event is the value at the path now. 'none': only changes. */
  initial?: 'snapshot' | 'none';
  /** Events the iterator may hold for a slow reader before collapsing them into one resync event. */
  maxBufferedEvents?: number;
  /** Callback form: called if the sidecar refuses the watch (bad path, too many watches); without it the error is thrown uncaught. */
  onError?: (error: Error) => void;
}

/** What the watch manager needs from the client. */
export interface WatchTransport {
  request(request: Record<string, unknown> & { op: string }, options?: CallOptions): Promise<Record<string, unknown>>;
  isConnected(): boolean;
  onResynced(epoch: string, revision: number): void;
}

/** Hands one event on, with the watched value after it and before it. */
type Deliver = (event: ChangeEvent, viewAfter: View, viewBefore: View) => void;

class ClientWatch {
  serverId: number | undefined;
  generation = 0;
  lastRevision = 0;
  epoch = '';
  view: View = ABSENT;
  started = false;
  closed = false;

  constructor(
    readonly segments: string[],
    readonly options: WatchOptions,
    readonly deliver: Deliver,
    readonly fail: (error: Error) => void,
  ) {}
}

export class WatchManager {
  private readonly watches = new Set<ClientWatch>();
  private readonly byServerId = new Map<number, ClientWatch>();
  /**
   * Events that arrived for a watch id whose creation answer is still on its
   * way to `establish` (the answer resolves a promise; the events right behind
   * it in the same read are handled first). Replayed once the id is known.
   */
  private readonly early = new Map<number, Record<string, unknown>[]>();
  private establishing = 0;

  constructor(private readonly transport: WatchTransport) {}

  /** Starts a watch; events go to `deliver` in revision order. Returns its closer. */
  open(path: PathInput, options: WatchOptions, deliver: Deliver, fail: (error: Error) => void): () => void {
    const watch = new ClientWatch(parsePath(path), options, deliver, fail);
    this.watches.add(watch);
    if (this.transport.isConnected()) void this.establish(watch);
    return () => this.close(watch);
  }

  /** The connection is (again) ready: create or resume every watch. */
  onConnected(): void {
    for (const watch of this.watches) void this.establish(watch);
  }

  /** The connection dropped: the sidecar's watch ids are gone with it. */
  onDisconnected(): void {
    this.byServerId.clear();
    this.early.clear();
    for (const watch of this.watches) watch.serverId = undefined;
  }

  /** A pushed event or progress message. */
  onPush(message: Record<string, unknown>): boolean {
    if (message.type === 'event' || message.type === 'progress') {
      const watchId = message.watchId as number;
      if (!this.byServerId.has(watchId) && this.establishing > 0) {
        const queued = this.early.get(watchId) ?? [];
        queued.push(message);
        this.early.set(watchId, queued);
        return true;
      }
    }
    if (message.type === 'event') {
      const event = WatchEventSchema.parse(message);
      const watch = this.byServerId.get(event.watchId);
      if (watch === undefined || event.revision <= watch.lastRevision) return true; // closed, or already seen
      const before = watch.view;
      for (const change of event.changes) watch.view = applyChange(watch.view, watch.segments, change as ViewChange);
      watch.lastRevision = event.revision;
      watch.deliver({ revision: event.revision, epoch: watch.epoch, source: event.source, changes: event.changes as ViewChange[] }, watch.view, before);
      return true;
    }
    if (message.type === 'progress') {
      const progress = WatchProgressSchema.parse(message);
      const watch = this.byServerId.get(progress.watchId);
      // Nothing under the path changed up to here: a resume can start after it.
      if (watch !== undefined && progress.revision > watch.lastRevision) watch.lastRevision = progress.revision;
      return true;
    }
    return false;
  }

  closeAll(): void {
    for (const watch of [...this.watches]) this.close(watch);
  }

  private close(watch: ClientWatch): void {
    if (watch.closed) return;
    watch.closed = true;
    this.watches.delete(watch);
    if (watch.serverId !== undefined) {
      this.byServerId.delete(watch.serverId);
      const watchId = watch.serverId;
      watch.serverId = undefined;
      if (this.transport.isConnected()) {
        // Best effort: if the connection is gone, so is the sidecar's watch.
        this.transport.request({ op: 'unwatch', watchId }, { timeoutMs: 5000 }).catch(ignoreClosedConnection);
      }
    }
  }

  private async establish(watch: ClientWatch): Promise<void> {
    const generation = ++watch.generation;
    const request: Record<string, unknown> & { op: string } = { op: 'watch', path: watch.segments };
    if (watch.started) {
      request.startRevision = watch.lastRevision + 1;
      request.epoch = watch.epoch;
      request.initial = 'none';
    } else {
      request.initial = 'snapshot'; // always: the copy that resyncs are diffed against
    }
    let response: Record<string, unknown>;
    this.establishing++;
    try {
      response = await this.transport.request(request, { timeoutMs: 30_000 });
    } catch (error) {
      this.establishing--;
      if (error instanceof ConfigSidecarError && isConnectionLoss(error.code)) return; // retried on the next connect
      this.close(watch);
      watch.fail(error as Error);
      return;
    }
    this.establishing--;
    const created = WatchResultSchema.parse(stripEnvelope(response));
    const early = this.early.get(created.watchId) ?? [];
    this.early.delete(created.watchId);
    if (this.establishing === 0) this.early.clear();
    try {
      this.adopt(watch, generation, created);
    } finally {
      for (const message of early) this.onPush(message);
    }
  }

  /** Takes the sidecar's answer to a watch request: registers its id, sets or resyncs the local copy. */
  private adopt(watch: ClientWatch, generation: number, created: ReturnType<typeof WatchResultSchema.parse>): void {
    if (watch.closed || generation !== watch.generation) {
      this.transport.request({ op: 'unwatch', watchId: created.watchId }, { timeoutMs: 5000 }).catch(ignoreClosedConnection);
      return;
    }
    watch.serverId = created.watchId;
    this.byServerId.set(created.watchId, watch);
    const snapshot: View | undefined = created.snapshot === undefined ? undefined : created.snapshot.exists ? { exists: true, value: created.snapshot.value } : ABSENT;
    watch.epoch = created.epoch;
    if (!watch.started) {
      watch.started = true;
      watch.view = snapshot ?? ABSENT;
      watch.lastRevision = created.revision;
      if (watch.options.initial !== 'none') {
        // Also when the path does not exist (no changes then): the watcher learns the watch is in place, and from when.
        const changes: ViewChange[] = watch.view.exists ? [{ path: [...watch.segments], value: watch.view.value }] : [];
        watch.deliver({ revision: created.revision, epoch: created.epoch, source: 'snapshot', changes }, watch.view, ABSENT);
      }
      return;
    }
    if (created.resync !== undefined && snapshot !== undefined) {
      const before = watch.view;
      const changes = diffViews(before, snapshot, watch.segments);
      watch.view = snapshot;
      watch.lastRevision = created.revision;
      // Delivered even when nothing differs: the revision numbering may have restarted (new epoch).
      watch.deliver({ revision: created.revision, epoch: created.epoch, source: 'resync', changes, resync: true }, watch.view, before);
      this.transport.onResynced(created.epoch, created.revision);
    }
  }
}

function isConnectionLoss(code: string): boolean {
  return code === 'UNAVAILABLE' || code === 'TIMEOUT' || code === 'OUTCOME_UNKNOWN' || code === 'SHUTTING_DOWN';
}

function ignoreClosedConnection(error: unknown): void {
  if (error instanceof ConfigSidecarError) return; // the watch ends with the connection either way
  throw error;
}

function stripEnvelope(response: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, ok: _ok, ...rest } = response;
  return rest;
}
