// Watches: every connection's subscriptions, fed from committed revisions.
// Guarantees (etcd's): events in revision order, one per revision that
// touches the path with all of that revision's changes under it, none twice,
// replay from a start revision while the history holds it, and a snapshot
// with a `resync` reason when it does not (or the epoch changed). A watch's
// first events wait until its creation has been answered, so they can never
// overtake the answer.
import { ErrorCode, ProtocolError, encodeFrame, encodeValue, isPrefix, parsePath, type Limits, type ResultOf, type WireChange } from '../../protocol/index.js';
import type { CommittedRevision } from '../store/commit-queue.js';
import type { History } from '../store/history.js';
import { readPath, type Change, type StoreState } from '../store/store-state.js';
import type { WatchCounts } from '../ops/event-counters.js';
import { getAt } from '../../protocol/index.js';

/** Where a watch's messages go: its connection. */
export interface WatchSink {
  push(message: Record<string, unknown>): void;
  /** Sends an already encoded frame (the same event goes to many watchers: encoded once). */
  pushFrame?(frame: Buffer): void;
}

interface Watcher {
  id: number;
  sink: WatchSink;
  segments: string[];
  /** The path as one string, made once: events are shared between watchers of the same path by it. */
  key: string;
  active: boolean;
  buffered: Record<string, unknown>[];
  lastSent: number;
}

export interface WatchRequest {
  path: string | string[];
  startRevision?: number;
  epoch?: string;
  initial?: 'snapshot' | 'none';
}

export class WatchHub {
  private nextId = 1;
  private readonly bySink = new Map<WatchSink, Map<number, Watcher>>();
  private readonly progressTimer: NodeJS.Timeout;

  constructor(
    private readonly epoch: string,
    private readonly history: History,
    private readonly committed: () => StoreState,
    private readonly limits: Pick<Limits, 'maxWatchesPerConnection' | 'maxWatchPathBytes' | 'maxDepth'>,
    private readonly progressMs = 10_000,
    /** Events sent and resyncs, for `stats`. */
    readonly counts: WatchCounts = { events: 0, resyncs: 0 },
  ) {
    this.progressTimer = setInterval(() => this.sendProgress(), Math.max(50, progressMs / 2));
    this.progressTimer.unref();
  }

  /** Number of watches open on all connections. */
  get size(): number {
    let n = 0;
    for (const watchers of this.bySink.values()) n += watchers.size;
    return n;
  }

  /** Watches open on one connection. */
  countFor(sink: WatchSink): number {
    return this.bySink.get(sink)?.size ?? 0;
  }

  /** Creates a watch; call `activate` once the answer has been sent. */
  create(sink: WatchSink, request: WatchRequest): { result: ResultOf<'watch'>; activate: () => void } {
    const segments = parsePath(request.path);
    this.checkPathBounds(segments);
    const watchers = this.bySink.get(sink) ?? new Map<number, Watcher>();
    if (watchers.size >= this.limits.maxWatchesPerConnection) {
      throw new ProtocolError(ErrorCode.LIMIT_EXCEEDED, `more than maxWatchesPerConnection ${this.limits.maxWatchesPerConnection} watches on this connection`, {
        limit: 'maxWatchesPerConnection',
        max: this.limits.maxWatchesPerConnection,
      });
    }
    const state = this.committed();
    const watcher: Watcher = { id: this.nextId++, sink, segments, key: segments.join('\u0000'), active: false, buffered: [], lastSent: Date.now() };
    let resync: 'compacted' | 'epoch' | undefined;
    if (request.startRevision !== undefined) {
      if (request.epoch !== undefined && request.epoch !== this.epoch) {
        resync = 'epoch';
      } else {
        const missed = this.history.since(request.startRevision - 1);
        if (missed === undefined) resync = 'compacted';
        else for (const revision of missed) this.deliver(watcher, revision);
      }
    }
    const result: ResultOf<'watch'> = { epoch: this.epoch, revision: state.revision, watchId: watcher.id };
    if (request.initial === 'snapshot' || resync !== undefined) {
      const { value } = readPath(state, segments);
      result.snapshot = value === undefined ? { value: null, exists: false } : { value, exists: true };
    }
    if (resync !== undefined) {
      result.resync = resync;
      this.counts.resyncs++;
    }
    watchers.set(watcher.id, watcher);
    this.bySink.set(sink, watchers);
    return {
      result,
      activate: () => {
        watcher.active = true;
        for (const message of watcher.buffered.splice(0)) sink.push(message);
      },
    };
  }

  /** Ends one watch; false if it was not open on this connection. */
  remove(sink: WatchSink, watchId: number): boolean {
    return this.bySink.get(sink)?.delete(watchId) ?? false;
  }

  /** Ends every watch of a connection (it closed). */
  removeAll(sink: WatchSink): void {
    this.bySink.delete(sink);
  }

  /** Feeds newly committed revisions to every watch they touch. */
  publish(revisions: readonly CommittedRevision[]): void {
    for (const revision of revisions) {
      // Watchers of the same path get the same event but for the watch id: encode the rest once.
      const shared = new Map<string, { changes: WireChange[]; tail: Buffer | undefined }>();
      for (const watchers of this.bySink.values()) {
        for (const watcher of watchers.values()) {
          let entry = shared.get(watcher.key);
          if (entry === undefined) {
            entry = { changes: changesUnder(watcher.segments, revision.changes), tail: undefined };
            shared.set(watcher.key, entry);
          }
          if (entry.changes.length === 0) continue;
          if (!watcher.active || watcher.sink.pushFrame === undefined) {
            this.deliver(watcher, revision, entry.changes);
            continue;
          }
          // Copied: encodeValue's result is a view of msgpackr's reusable buffer.
          entry.tail ??= Buffer.from(encodeValue({ revision: revision.revision, source: revision.source, changes: entry.changes }).subarray(1));
          watcher.lastSent = Date.now();
          this.counts.events++;
          watcher.sink.pushFrame(eventFrame(watcher.id, entry.tail));
        }
      }
    }
  }

  close(): void {
    clearInterval(this.progressTimer);
  }

  /**
   * A watch keeps its path for its whole life and every revision is matched against it: a path is
   * bounded in depth (no document is deeper) and in bytes, or thousands of megabyte paths would pin
   * memory and make every write slow.
   */
  private checkPathBounds(segments: readonly string[]): void {
    const { maxDepth, maxWatchPathBytes } = this.limits;
    if (segments.length > maxDepth) {
      throw new ProtocolError(ErrorCode.LIMIT_EXCEEDED, `the watch path has ${segments.length} segments, more than maxDepth ${maxDepth}`, {
        limit: 'maxDepth',
        max: maxDepth,
        actual: segments.length,
      });
    }
    let bytes = 0;
    for (const segment of segments) bytes += Buffer.byteLength(segment);
    if (bytes > maxWatchPathBytes) {
      throw new ProtocolError(ErrorCode.LIMIT_EXCEEDED, `the watch path is ${bytes} bytes, more than maxWatchPathBytes ${maxWatchPathBytes}`, {
        limit: 'maxWatchPathBytes',
        max: maxWatchPathBytes,
        actual: bytes,
      });
    }
  }

  private deliver(watcher: Watcher, revision: CommittedRevision, changes = changesUnder(watcher.segments, revision.changes)): void {
    if (changes.length === 0) return;
    const event = { type: 'event', watchId: watcher.id, revision: revision.revision, source: revision.source, changes };
    this.counts.events++;
    if (!watcher.active) {
      watcher.buffered.push(event);
      return;
    }
    watcher.lastSent = Date.now();
    watcher.sink.push(event);
  }

  private sendProgress(): void {
    const now = Date.now();
    const revision = this.committed().revision;
    for (const watchers of this.bySink.values()) {
      for (const watcher of watchers.values()) {
        if (!watcher.active || now - watcher.lastSent < this.progressMs) continue;
        watcher.lastSent = now;
        watcher.sink.push({ type: 'progress', watchId: watcher.id, revision });
      }
    }
  }
}

const EVENT_HEAD = Buffer.concat([Buffer.from([0x85]), encodeValue('type'), encodeValue('event'), encodeValue('watchId')]);

/**
 * `{type: 'event', watchId, revision, source, changes}` as one frame, from the
 * encoded `{revision, source, changes}` map without its 1-byte fixmap header.
 */
function eventFrame(watchId: number, tail: Buffer): Buffer {
  return encodeFrame(Buffer.concat([EVENT_HEAD, encodeValue(watchId), tail]));
}

/**
 * The changes of one revision as a watcher of `watched` sees them: changes
 * under the path as they are, and a change above it as the new value at the
 * watched path itself (or its removal).
 */
export function changesUnder(watched: readonly string[], changes: readonly Change[]): WireChange[] {
  const out: WireChange[] = [];
  for (const change of changes) {
    if (isPrefix(watched, change.segments)) {
      out.push(change.deleted ? { path: change.segments, deleted: true } : { path: change.segments, value: change.value });
    } else if (isPrefix(change.segments, watched)) {
      const below = watched.slice(change.segments.length);
      const value = change.deleted ? undefined : getAt(change.value, below);
      out.push(value === undefined ? { path: [...watched], deleted: true } : { path: [...watched], value });
    }
  }
  return out;
}
