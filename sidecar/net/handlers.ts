// What each request op does, given the store. Reads answer from committed
// state only; writes go through the commit queue and answer once durable.
// One handler per op, each typed by the operation table (protocol/operations.ts):
// a result the client would refuse does not compile.
import { ErrorCode, ProtocolError, formatPath, parsePath, type Request, type Guard, type RequestOf, type RequestOp, type ResultOf, type WriteOp } from '../../protocol/index.js';
import type { CommitQueue } from '../store/commit-queue.js';
import type { CheckpointWriter } from '../file/checkpoint-writer.js';
import type { EventLoopMonitor } from '../ops/event-loop-monitor.js';
import type { Backups } from '../file/backups.js';
import { listBackups, restorableBackup } from '../file/backup-restore.js';
import type { EventCounters } from '../ops/event-counters.js';
import type { Logger } from '../ops/logger.js';
import { processMetrics } from '../ops/process-metrics.js';
import { RequestMetrics, copyLatency, LATENCY_BUCKETS_MS } from '../ops/request-metrics.js';
import { readPath } from '../store/store-state.js';
import { describeLayers, servedLayer } from '../layers/layer-merge.js';
import { refuseLocked } from '../layers/locked-writes.js';
import type { FleetStatus } from '../fleet/index.js';
import type { Health } from '../ops/health.js';
import type { SystemInfo } from '../ops/system-info.js';
import type { WatchHub, WatchSink } from '../watch/watch-hub.js';

/** Called by the session once a response has been sent (a new watch starts delivering then). */
export const AFTER_SEND = Symbol('afterSend');

export type HandlerResult = Record<string, unknown> & { [AFTER_SEND]?: () => void };

/** One handler per op: its request in, its result (as the operation table says) out. */
type Handlers = { [Op in RequestOp]: (request: RequestOf<Op>, origin: RequestOrigin) => Promise<ResultOf<Op> & { [AFTER_SEND]?: () => void }> };

/** Who is asking: the connection (for watches), the request's size (for history accounting), and whether it came through the read-only socket. */
export interface RequestOrigin {
  sink: WatchSink;
  frameBytes: number;
  readOnly?: boolean;
}

/** Ops that change the document (or the sidecar's log level): refused READ_ONLY on the read-only socket. */
const WRITE_OPS: ReadonlySet<Request['op']> = new Set(['set', 'delete', 'batch', 'restore', 'logLevel']);

export interface HandlerContext {
  epoch: string;
  configPath: string;
  queue: CommitQueue;
  health: Health;
  memoryEqualsDisk(): boolean;
  /** The config file's rewrites behind the journal: waitForFile, and `stats`. */
  checkpoints: Pick<CheckpointWriter, 'fileHolds' | 'fileRevision' | 'lagSummary' | 'counters'>;
  /** The journal files' size now and at most (`stats`). */
  journalUse: { bytes: number; peakBytes: number };
  /** Brings facts health reports up to date (values checked against the disk); resolves before health answers. */
  beforeHealth(): Promise<void>;
  eventLoop: EventLoopMonitor;
  /** The sidecar's logger, whose level `logLevel` sets. */
  log: Logger;
  counters: EventCounters;
  /** Hand edits by outcome (hand-edits.ts counts them). */
  handEdits: { applied: number; rejected: number; merged: number };
  connections(): number;
  startedAt: number;
  systemInfo: SystemInfo;
  watches: WatchHub;
  /** The state directory's backups, for `backups` and `restore`. */
  backups: Backups;
  /** The schema in force (its version decides which backups can be restored), if any. */
  schema: { version: number | undefined } | undefined;
  /** Version, pid and paths of this sidecar, for `info`. */
  identity: Record<string, unknown>;
  /** The fleet layer's connection and revision, for `info` (`fleet status`); undefined without --fleet. */
  fleetStatus?(): FleetStatus | undefined;
}

type Result = HandlerResult;

export function createHandler(ctx: HandlerContext): (request: Request, origin: RequestOrigin) => Promise<Result> {
  const metrics = new RequestMetrics();
  const position = () => ({ epoch: ctx.epoch, revision: ctx.queue.committed.revision });
  const write = async (ops: readonly WriteOp[], origin: RequestOrigin, guards?: readonly Guard[], waitForFile?: boolean): Promise<ResultOf<'set'>> => {
    refuseLocked(ctx.queue.committed, ops);
    const { revision, results } = await ctx.queue.submit(ops, 'client', origin.frameBytes, guards);
    if (waitForFile === true) await ctx.checkpoints.fileHolds(revision);
    return { epoch: ctx.epoch, revision, results };
  };

  // Every request is timed from dispatch to answer: a write's answer waits for durability, so its latency includes the flush.
  const timed = async (request: Request, origin: RequestOrigin): Promise<Result> => {
    const started = performance.now();
    try {
      const result = await dispatch(request, origin);
      metrics.observe(request.op, performance.now() - started);
      return result;
    } catch (error) {
      metrics.observe(request.op, performance.now() - started, error instanceof ProtocolError ? error.code : ErrorCode.INTERNAL);
      throw error;
    }
  };

  const handlers: Handlers = {
    get: async (request) => {
      const segments = parsePath(request.path);
      const state = ctx.queue.committed;
      const { value, modRevision } = readPath(state, segments);
      if (value === undefined) {
        throw new ProtocolError(ErrorCode.NOT_FOUND, `${formatPath(segments) || '(root)'} does not exist`, { path: formatPath(segments) });
      }
      return { epoch: ctx.epoch, revision: state.revision, value, modRevision, ...(state.layers === undefined ? {} : { layer: servedLayer(state, segments) }) };
    },
    set: (request, origin) => write([{ op: 'set', path: request.path, value: request.value, ifModRevision: request.ifModRevision }], origin, request.if, request.waitForFile),
    delete: (request, origin) => write([{ op: 'delete', path: request.path, ifModRevision: request.ifModRevision }], origin, request.if, request.waitForFile),
    batch: (request, origin) => write(request.ops, origin, request.if, request.waitForFile),
    watch: async (request, origin) => {
      const { result, activate } = ctx.watches.create(origin.sink, request);
      return { ...result, [AFTER_SEND]: activate };
    },
    unwatch: async (request, origin) => {
      if (!ctx.watches.remove(origin.sink, request.watchId)) {
        throw new ProtocolError(ErrorCode.NOT_FOUND, `no watch ${request.watchId} on this connection`, { watchId: request.watchId });
      }
      return position();
    },
    ping: async () => position(),
    backups: async () => ({ ...position(), backups: await listBackups(ctx.backups) }),
    restore: async (request, origin) => {
      const { name, doc } = await restorableBackup(ctx.backups, request.n, ctx.schema);
      const written = await write([{ op: 'set', path: [], value: doc }], origin);
      return { ...written, restored: name };
    },
    health: async (request, origin) => {
      if (request.ack === true && origin.readOnly !== true) ctx.health.mergeConflict = null;
      await ctx.beforeHealth();
      return { ...position(), ...ctx.health.report(ctx.configPath, ctx.memoryEqualsDisk(), ctx.eventLoop.recentMaxMs()) };
    },
    logLevel: async (request) => {
      const previous = ctx.log.level;
      if (request.level !== undefined && request.level !== previous) {
        ctx.log.level = request.level;
        // Said whatever the new level (as SIGUSR2's change is): a child with its own level writes even when the parent would not.
        ctx.log.child({}, { level: 'info' }).info({ logLevel: request.level, previous }, 'log level changed by request');
      }
      return { ...position(), level: ctx.log.level, previous };
    },
    info: async () => ({
      ...position(),
      sidecar: { ...ctx.identity, pid: process.pid, uptimeMs: Date.now() - ctx.startedAt },
      system: await ctx.systemInfo.get(),
      ...(ctx.fleetStatus?.() === undefined ? {} : { fleet: ctx.fleetStatus() }),
      ...(ctx.queue.committed.layers === undefined ? {} : { layers: describeLayers(ctx.queue.committed) }),
    }),
    stats: async () => {
      await ctx.beforeHealth();
      const health = ctx.health.report(ctx.configPath, ctx.memoryEqualsDisk(), ctx.eventLoop.recentMaxMs());
      return {
        ...position(),
        version: ctx.identity.version,
        uptimeMs: Date.now() - ctx.startedAt,
        connections: ctx.connections(),
        watches: ctx.watches.size,
        requests: metrics.requestCounts(),
        requestErrors: metrics.errorCounts(),
        latency: metrics.latencySnapshot(),
        flushes: ctx.queue.counters.flushes,
        writesCommitted: ctx.queue.counters.writes,
        failedFlushes: ctx.queue.counters.failedFlushes,
        eventLoopDelay: ctx.eventLoop.summary(),
        memory: { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed },
        process: await processMetrics(),
        connectionsRefused: ctx.counters.connectionsRefused,
        slowReaderDisconnects: ctx.counters.slowReaderDisconnects,
        watchEvents: ctx.counters.watches.events,
        watchResyncs: ctx.counters.watches.resyncs,
        handEdits: { ...ctx.handEdits },
        flushDuration: { bucketsMs: [...LATENCY_BUCKETS_MS], ...copyLatency(ctx.counters.flushDuration) },
        file: {
          revision: ctx.checkpoints.fileRevision,
          lag: { bucketsMs: [...LATENCY_BUCKETS_MS], ...ctx.checkpoints.lagSummary() },
          rewrites: ctx.checkpoints.counters.rewrites,
          failedRewrites: ctx.checkpoints.counters.failedRewrites,
          journalBytes: ctx.journalUse.bytes,
          journalPeakBytes: ctx.journalUse.peakBytes,
        },
        health: {
          status: health.status,
          reasons: health.reasons,
          fileValid: health.fileValid,
          memoryEqualsDisk: health.memoryEqualsDisk,
          readOnly: health.readOnly,
          lastWriteAt: health.lastWriteAt,
        },
      };
    },
  };

  const dispatch = async (request: Request, origin: RequestOrigin): Promise<Result> => {
    if (origin.readOnly === true && WRITE_OPS.has(request.op)) {
      throw new ProtocolError(ErrorCode.READ_ONLY, `${request.op} is refused on the read-only socket; writes go through the sidecar's main socket`, { op: request.op });
    }
    // The table is indexed by the request's own op, so the pair always matches (TypeScript cannot correlate the union).
    const handler = handlers[request.op] as (request: Request, origin: RequestOrigin) => Promise<Result>;
    return handler(request, origin);
  };
  return timed;
}
