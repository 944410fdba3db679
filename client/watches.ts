// Watches on the client: created on the sidecar, fed by its events, resumed
// after every reconnect from the next revision, and resynced when the sidecar
// can no longer replay (history trimmed, or a restart changed the epoch): the
// client diffs its copy of the watched value against a fresh snapshot and
// emits exactly the difference, flagged `resync`. Never an error, never a gap.
// A watch request that times out on a live connection is tried again (the
// link is fine, the answer was slow): a watch never stalls silently.
import { getAt, parsePath, type PathInput } from '../protocol/paths.js';
import type { ResultOf } from '../protocol/operations.js';
import type { WatchEvent, WatchProgress } from '../protocol/server-messages.js';
import type { CallOptions } from './calls.js';
import { ClientErrorCode, ConfigSidecarError } from './client-errors.js';
import { ABSENT, applyChange, diffViews, type View, type ViewChange } from './watch-view.js';

/** One delivery to a watcher. */
export interface ChangeEvent {
  /** The revision this event brings the watcher up to. */
  revision: number;
  epoch: string;
  /** Who made the revision; 'snapshot' for the initial value, 'resync' for a catch-up diff. */
  source: 'client' | 'file' | 'reload' | 'migration' | 'fleet' | 'system' | 'snapshot' | 'resync';
  /** Every change under the watched path in this revision, in order. Paths are segment arrays. */
  changes: (ViewChange & { prevValue?: unknown })[];
  /** Set when the sidecar could not replay missed revisions and this is the difference instead. */
  resync?: true;
}

export interface WatchOptions {
  /** 'snapshot' (default): the first event is the value at the path now. 'none': only changes. */
  initial?: 'snapshot' | 'none';
  /** Events the iterator may hold for a slow reader before collapsing them into one resync event. */
  maxBufferedEvents?: number;
  /** Callback form: called if the sidecar refuses the watch (bad path, too many watches), or the callback throws; without it the client's 'error' event gets it. */
  onError?: (error: Error) => void;
  /** Aborting it ends the watch (the iterator finishes; the callback is called no more). */
  signal?: AbortSignal;
  /** Replay from this revision (inclusive) while the sidecar's history holds it; else the first event is a resync to the value now. */
  startRevision?: number;
  /** Each change also carries `prevValue`: the value at its path before the revision (absent when there was none). */
  prevValues?: boolean;
  /** Deadline of each watch request (ms, default 30 000); one that passes on a live connection is retried. */
  timeoutMs?: number;
}

/** What the watch manager needs from the client. */
export interface WatchTransport {
  watch(request: { op: 'watch'; path: string[]; startRevision?: number; epoch?: string; initial: 'snapshot' | 'none' }, options: CallOptions): Promise<ResultOf<'watch'>>;
  unwatch(watchId: number): void;
  isConnected(): boolean;
  onResynced(epoch: string, revision: number): void;
}

/** A watch as its owner steers it (the replica): close it, see whether it is live, and where it stands. */
export interface WatchControl {
  close(): void;
  /** Established on the current connection: its events arrive in order with the answers to later calls. */
  live(): boolean;
  /** The sidecar's id of the watch while it is established (a new one after each reconnect). */
  session(): number | undefined;
  /** The epoch and revision it has reached (progress messages included). */
  position(): { epoch: string; revision: number };
  /**
   * A call sent while the watch was established as `session` was answered at `revision`, and the
   * watch is still that one: the sidecar publishes each committed revision to its watches before it
   * answers later calls, so nothing under the path happened in between that was not delivered.
   */
  advance(revision: number, session: number): void;
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
  /** Events up to this revision are older than the view (a replay from startRevision): delivered, not applied. */
  viewRevision = 0;
  /** Called each time the watch is (re-)established, after the events that came with its answer. */
  onEstablished: (() => void) | undefined;

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
  private readonly early = new Map<number, (WatchEvent | WatchProgress)[]>();
  private establishing = 0;

  constructor(private readonly transport: WatchTransport) {}

  /** Starts a watch; events go to `deliver` in revision order. Returns its closer. */
  open(path: PathInput, options: WatchOptions, deliver: Deliver, fail: (error: Error) => void): () => void {
    return this.control(path, options, deliver, fail).close;
  }

  /** Starts a watch and hands back its control. */
  control(path: PathInput, options: WatchOptions, deliver: Deliver, fail: (error: Error) => void, onEstablished?: () => void): WatchControl {
    const watch = new ClientWatch(parsePath(path), options, deliver, fail);
    watch.onEstablished = onEstablished;
    const position = () => ({ epoch: watch.epoch, revision: watch.lastRevision });
    const live = () => watch.serverId !== undefined && this.transport.isConnected();
    const session = () => (live() ? watch.serverId : undefined);
    const advance = (revision: number, at: number) => {
      if (session() === at && revision > watch.lastRevision) watch.lastRevision = revision;
    };
    if (options.signal?.aborted) return { close: () => undefined, live, session, position, advance };
    this.watches.add(watch);
    const onAbort = () => this.close(watch);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (this.transport.isConnected()) this.establish(watch);
    const close = () => {
      options.signal?.removeEventListener('abort', onAbort);
      this.close(watch);
    };
    return { close, live, session, position, advance };
  }

  /** The connection is (again) ready: create or resume every watch. */
  onConnected(): void {
    for (const watch of this.watches) this.establish(watch);
  }

  /** The connection dropped: the sidecar's watch ids are gone with it. */
  onDisconnected(): void {
    this.byServerId.clear();
    this.early.clear();
    for (const watch of this.watches) watch.serverId = undefined;
  }

  /** A pushed event or progress message (already checked by the connection). */
  onPush(message: WatchEvent | WatchProgress): void {
    if (!this.byServerId.has(message.watchId) && this.establishing > 0) {
      const queued = this.early.get(message.watchId) ?? [];
      queued.push(message);
      this.early.set(message.watchId, queued);
      return;
    }
    const watch = this.byServerId.get(message.watchId);
    if (watch === undefined || message.revision <= watch.lastRevision) return; // closed, or already seen
    if (message.type === 'progress') {
      // Nothing under the path changed up to here: a resume can start after it.
      watch.lastRevision = message.revision;
      return;
    }
    const before = watch.view;
    const replayed = message.revision <= watch.viewRevision;
    const changes = message.changes as ViewChange[];
    if (!replayed) for (const change of changes) watch.view = applyChange(watch.view, watch.segments, change);
    watch.lastRevision = message.revision;
    const delivered = watch.options.prevValues === true && !replayed ? withPrevValues(changes, before, watch.segments) : changes;
    watch.deliver({ revision: message.revision, epoch: watch.epoch, source: message.source, changes: delivered }, watch.view, before);
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
      // Best effort: if the connection is gone, so is the sidecar's watch.
      if (this.transport.isConnected()) this.transport.unwatch(watchId);
    }
  }

  /** Creates or resumes the watch on the sidecar; never rejects (failures go to the watch's `fail`). */
  private establish(watch: ClientWatch): void {
    this.tryEstablish(watch).catch((error: unknown) => {
      this.close(watch);
      watch.fail(error instanceof Error ? error : new Error(String(error)));
    });
  }

  private async tryEstablish(watch: ClientWatch): Promise<void> {
    const generation = ++watch.generation;
    const request: Parameters<WatchTransport['watch']>[0] = { op: 'watch', path: watch.segments, initial: 'snapshot' };
    if (watch.started) {
      request.startRevision = watch.lastRevision + 1;
      request.epoch = watch.epoch;
      request.initial = 'none';
    } else if (watch.options.startRevision !== undefined) {
      request.startRevision = watch.options.startRevision; // with the snapshot of now: the copy later events apply to
    }
    let created: ResultOf<'watch'>;
    this.establishing++;
    try {
      created = await this.transport.watch(request, { timeoutMs: watch.options.timeoutMs ?? 30_000 });
    } catch (error) {
      if (!(error instanceof ConfigSidecarError) || watch.closed) throw error;
      if (error.code === ClientErrorCode.TIMEOUT && this.transport.isConnected()) {
        // The link is up but the answer was late: ask again now rather than wait for a reconnect that may never come.
        if (generation === watch.generation) this.establish(watch);
        return;
      }
      if (isConnectionLoss(error.code)) return; // retried on the next connect
      throw error;
    } finally {
      this.establishing--;
    }
    const early = this.early.get(created.watchId) ?? [];
    this.early.delete(created.watchId);
    if (this.establishing === 0) this.early.clear();
    try {
      this.adopt(watch, generation, created);
    } finally {
      for (const message of early) this.onPush(message);
    }
    if (watch.serverId === created.watchId) watch.onEstablished?.();
  }

  /** Takes the sidecar's answer to a watch request: registers its id, sets or resyncs the local copy. */
  private adopt(watch: ClientWatch, generation: number, created: ResultOf<'watch'>): void {
    if (watch.closed || generation !== watch.generation) {
      this.transport.unwatch(created.watchId);
      return;
    }
    watch.serverId = created.watchId;
    this.byServerId.set(created.watchId, watch);
    const snapshot: View | undefined = created.snapshot === undefined ? undefined : created.snapshot.exists ? { exists: true, value: created.snapshot.value } : ABSENT;
    watch.epoch = created.epoch;
    if (!watch.started && watch.options.startRevision !== undefined) {
      watch.started = true;
      watch.view = snapshot ?? ABSENT;
      watch.viewRevision = created.revision;
      if (created.resync === undefined) {
        watch.lastRevision = watch.options.startRevision - 1; // the replay follows as events
        return;
      }
      watch.lastRevision = created.revision;
      const changes = diffViews(ABSENT, watch.view, watch.segments);
      watch.deliver({ revision: created.revision, epoch: created.epoch, source: 'resync', changes, resync: true }, watch.view, ABSENT);
      return;
    }
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
  // QUEUE_FULL: refused while waiting for a connection; asked for again on the next connect like the rest.
  return code === 'UNAVAILABLE' || code === 'TIMEOUT' || code === 'OUTCOME_UNKNOWN' || code === 'SHUTTING_DOWN' || code === 'QUEUE_FULL';
}

/** Each change with the value its path held before the revision. */
function withPrevValues(changes: ViewChange[], before: View, watched: readonly string[]): (ViewChange & { prevValue?: unknown })[] {
  return changes.map((change) => {
    if (!before.exists) return change;
    const prevValue = getAt(before.value, change.path.slice(watched.length));
    return prevValue === undefined ? change : { ...change, prevValue };
  });
}
