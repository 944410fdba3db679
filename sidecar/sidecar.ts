// The sidecar: owns one config file and serves it on one socket. Start-up
// order matters: take the ownership lock, make sure nothing else answers on
// the socket, load the file, then bind. Stop: refuse new work, let queued
// writes reach disk, answer what is pending, close, release the lock.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  DEFAULT_APP_NAME,
  DEFAULT_LIMITS,
  ErrorCode,
  PROTOCOL_VERSION,
  ProtocolError,
  defaultConfigPath,
  defaultSocketPath,
  stateDirFor,
  type Limits,
  type Request,
  type ServerHello,
} from '../protocol/index.js';
import { CommitQueue, type FlushGroup, type OutcomeUnknown } from './store/commit-queue.js';
import { ConfigFile, firstRevisionOf } from './file/config-file.js';
import { CheckpointRenderer } from './file/checkpoint-renderer.js';
import { CheckpointWriter } from './file/checkpoint-writer.js';
import { EventCounters } from './ops/event-counters.js';
import { EventLoopMonitor } from './ops/event-loop-monitor.js';
import { realFs, type FsOps } from './disk/fs-ops.js';
import { createHandler, type RequestOrigin } from './net/handlers.js';
import { Health } from './ops/health.js';
import { createLogger, type Logger, type LogLevel } from './ops/logger.js';
import { acquireOwnership, AlreadyOwnedError, successorOf, type Ownership } from './ownership/ownership-lock.js';
import { Generation } from './ownership/generation-fence.js';
import { RefusalQueue } from './net/refusal-queue.js';
import { OutboundBudget } from './net/outbound-budget.js';
import { Session } from './net/session.js';
import { initialState, type StoreState } from './store/store-state.js';
import { SystemInfo } from './ops/system-info.js';
import { History } from './store/history.js';
import { WatchHub } from './watch/watch-hub.js';
import { ConfigSchema } from './schema/config-schema.js';
import { fileMetaFor } from './file/file-envelope.js';
import { schemaAdmission } from './schema/schema-admission.js';
import { applySchemaStart, prepareSchema, type SchemaRunning } from './schema/schema-start.js';
import { backupStates, chainStates, journalState } from './schema/matching-state.js';
import { FileWatch } from './file/file-watch.js';
import { SchemaFallback } from './schema/schema-fallback.js';
import { resolveConfigPath } from './file/config-path.js';
import { HandEdits } from './file/hand-edits.js';
import { checkSharedDirectory, preparePrivateDirectory } from './ownership/private-directory.js';
import { checkSocketPlace, listen, probe, type Connection, type Listener, type SocketAccess } from './net/transport.js';
import { VERSION } from './ops/version.js';
import type { QuarantineBounds } from './file/quarantine.js';
import { LayerSources, type LayerOptions } from './layers/layer-sources.js';
import { initialLayeredState } from './layers/layered-start.js';
import { layeredAdmission } from './layers/layered-admission.js';

export interface SidecarOptions {
  /** Config file; default from --app / $CONFIG_SIDECAR_CONFIG (README.md, "Where files live"). */
  configPath?: string;
  /** Socket path; default from --app / $CONFIG_SIDECAR_SOCKET. */
  socketPath?: string;
  app?: string;
  limits?: Partial<Limits>;
  /** A module exporting a zod schema (`schema`, optional `schemaVersion`, `migrations`), or a JSON Schema file. */
  schemaPath?: string;
  logger?: Logger;
  logLevel?: LogLevel;
  /** File-system layer for persistence; tests inject faults through it. */
  fs?: FsOps;
  /** Idle time after which a watch gets a progress message (ms, default 10 000). */
  progressMs?: number;
  /** Ownership lock stale threshold (ms). */
  lockStaleMs?: number;
  /** Mode and group of the socket (default 0600, the owner only). */
  socketAccess?: SocketAccess;
  /** A second socket on which only reads and watches are served (its own mode and group). */
  readOnlySocket?: { path: string } & SocketAccess;
  /** How many refused files quarantine/ keeps, and how many bytes (default DEFAULT_QUARANTINE). */
  quarantine?: QuarantineBounds;
  /** Called when the sidecar can no longer serve safely (lock lost); it has already stopped taking writes. */
  onFatal?(error: Error): void;
  /** Layers served below the file: fleet (etcd), system file, locks (docs/operations.md). */
  layers?: LayerOptions;
  /** The commit journal's size past which it starts again from a checkpoint (bytes; default 1 MiB or 4 copies of the document). */
  journalRotateBytes?: number;
}

export class Sidecar {
  private sessions = new Set<Session>();
  private readonly handEdits: HandEdits;
  private readonly fileWatch: FileWatch;
  private stopping: Promise<void> | undefined;
  private readOnlyListener: Listener | undefined;
  /** Set once a flush found this process fenced off: nothing of its may touch the file any more. */
  private lost = false;
  onFatal: ((error: Error) => void) | undefined;
  private readonly eventLoop = new EventLoopMonitor();
  readonly startedAt = Date.now();

  private constructor(
    readonly configPath: string,
    readonly socketPath: string,
    readonly epoch: string,
    readonly limits: Limits,
    readonly log: Logger,
    private readonly queue: CommitQueue,
    private readonly health: Health,
    private readonly file: ConfigFile,
    private readonly ownership: Ownership,
    private readonly watches: WatchHub,
    private listener: Listener | undefined,
    /** The schema in force, for `info` and `restore`. */
    private readonly schema: ConfigSchema | undefined,
    private readonly schemaRunning: SchemaRunning | undefined,
    private readonly sockets: Pick<SidecarOptions, 'socketAccess' | 'readOnlySocket'>,
    private readonly counters: EventCounters,
    private readonly layers: LayerSources | undefined,
    private readonly checkpoints: CheckpointWriter,
    private readonly renderer: CheckpointRenderer,
  ) {
    this.handEdits = new HandEdits(file, queue, health, log, () => schemaRunning?.fileAgrees());
    file.onOrphanedEdit = (fd) => void this.handEdits.takeOrphan(fd);
    this.fileWatch = new FileWatch(configPath, () => void this.handEdits.request('file'), log, () => checkpoints.editorActive());
  }

  /** Re-reads the config file (SIGHUP); a valid change becomes a revision with source 'reload'. */
  reload(): Promise<void> {
    return Promise.all([this.handEdits.request('reload'), this.layers?.rereadSystem()]).then(() => undefined);
  }

  /** Starts a sidecar; rejects with AlreadyOwnedError, StartupError or an I/O error. */
  static async start(options: SidecarOptions = {}): Promise<Sidecar> {
    const app = options.app ?? DEFAULT_APP_NAME;
    const givenPath = path.resolve(options.configPath ?? defaultConfigPath(app));
    // Owned and written where links lead: two names for one file get one owner (config-path.ts).
    const configPath = await resolveConfigPath(givenPath);
    const socketPath = options.socketPath ?? defaultSocketPath(app);
    const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
    const log = options.logger ?? createLogger(options.logLevel);
    const stateDir = stateDirFor(configPath);
    const health = new Health();
    const counters = new EventCounters();
    let sidecar: Sidecar | undefined;
    let layers: LayerSources | undefined;
    /** Closed again if the start fails after it was opened. */
    let opened: ConfigFile | undefined;
    let renderer: CheckpointRenderer | undefined;
    // A broken schema module fails the start before anything is locked or touched.
    const schema = options.schemaPath === undefined ? undefined : await ConfigSchema.load(options.schemaPath);
    // Directories someone else made or can write are refused before anything is read from them or locked.
    await checkSocketPlace(socketPath);
    if (options.readOnlySocket !== undefined) await checkSocketPlace(options.readOnlySocket.path);
    await checkSharedDirectory(path.dirname(configPath), "the config file's directory");
    await preparePrivateDirectory(stateDir, 'state directory');

    const ownership = await acquireOwnership({
      configPath,
      stateDir,
      socketPath,
      probe,
      staleMs: options.lockStaleMs,
      onCompromised: (error) => {
        health.lockLost = true;
        log.fatal({ err: error }, `ownership lock compromised (now held by ${successorOf(stateDir)}): refusing writes and stopping`);
        sidecar?.queue.refuseWrites(new ProtocolError(ErrorCode.SHUTTING_DOWN, 'the ownership lock was lost; this sidecar is stopping'));
        options.onFatal?.(error);
      },
    });
    try {
      if (await probe(socketPath)) {
        throw new AlreadyOwnedError(configPath, undefined);
      }
      const fs = options.fs ?? realFs;
      // Fenced before the file is read: whatever an earlier owner renamed in is seen, later renames fail.
      const generation = await Generation.claim(stateDir);
      health.deposedOwners = await generation.liveDeposed();
      for (const deposed of health.deposedOwners) {
        log.warn({ pid: deposed.pid, fenced: deposed.dir }, 'took over from an owner whose lock went stale while it still runs; it is fenced off and cannot write');
      }
      const file = new ConfigFile(configPath, stateDir, fs, log, generation);
      opened = file;
      file.beforeRename = () => ownership.assertLease();
      if (schema !== undefined) file.meta = fileMetaFor(configPath, schema.version);
      file.maxDepth = limits.maxDepth;
      file.maxDocumentBytes = limits.maxDocumentBytes;
      if (options.quarantine !== undefined) file.quarantineBounds = options.quarantine;
      file.rotateBytes = options.journalRotateBytes;
      const loaded = await file.load();
      const schemaStart = schema === undefined ? undefined : await prepareSchema(schema, loaded, configPath, log, chainStates(journalState(file.previousJournal, log), backupStates(file.backups, fs, log)));
      if (loaded.recovered !== undefined) health.recoveredAtStart = `recovered at start: ${loaded.recovered.reason}`;
      if (file.stateProblem !== undefined) health.stateProblem = file.stateProblem;
      // A clean restart on an unchanged file keeps its epoch: watchers resume instead of resyncing.
      const epoch = loaded.resume?.epoch ?? randomBytes(8).toString('hex');
      const firstRevision = firstRevisionOf(loaded);
      const history = new History(firstRevision);
      let watches: WatchHub | undefined;
      let schemaRunning: SchemaRunning | undefined;
      let oversized: SchemaFallback | undefined;
      // A file that does not match the schema is served from an earlier state that does (schema-start.ts).
      // Served instead of the file: an edit of the file is then applied whole, as made from what is served.
      if (schemaStart?.fallback !== undefined) file.versions.restartFrom(schemaStart.fallback.doc);
      const servedDoc = schemaStart?.fallback?.doc ?? loaded.doc;
      const unlayered = { ...initialState(servedDoc, firstRevision), ...(schemaStart?.view === undefined ? {} : { view: schemaStart.view }) };
      // The journal starts on the state served (not a file served read-only in its place): commits build on it.
      await file.startJournal(loaded.existed || loaded.oversized !== undefined ? servedDoc : undefined, firstRevision);
      renderer = new CheckpointRenderer(servedDoc, firstRevision, file.meta);
      const checkpoints = new CheckpointWriter(renderer, file, {
        onDiskChanged: () => sidecar?.handEdits.takeInFirst() ?? Promise.resolve(),
        onFailed: (error) => {
          const message = error instanceof Error ? error.message : String(error);
          health.fileLagging = `the config file could not be rewritten (${message}): it trails the served config at revision ${checkpoints.fileRevision} (every commit is durable in the journal); retrying`;
          log.error({ err: error, fileRevision: checkpoints.fileRevision }, 'rewriting the config file failed; retrying');
        },
        onCaughtUp: () => {
          health.fileLagging = null;
          log.info({ fileRevision: checkpoints.fileRevision }, 'the config file holds the served config again');
        },
        onLost: (error) => sidecar?.ownershipLost(error, 0),
      }, firstRevision);
      if (options.layers !== undefined) layers = await LayerSources.start(options.layers, stateDir, limits.maxDepth, log);
      const first = layers === undefined ? unlayered : await initialLayeredState(unlayered, layers, schema);
      const commit = (next: StoreState, previous: StoreState, group: FlushGroup) => counters.timeFlush(() => file.write(next, previous, group));
      const queue = new CommitQueue(first, commit, limits, {
        onCommitted: (_state, revisions, group) => {
          health.recordWrite();
          oversized?.leave('a write replaced the file over maxDocumentBytes');
          history.append(revisions);
          watches?.publish(revisions);
          schemaRunning?.committed();
          // After the watchers: a small document's rewrite is rendered right here, on the event loop.
          checkpoints.committed(group.last, group.changes, group.onlyHandEdits !== true, group.anyHandEdit === true);
        },
        onFlushFailed: (error, writes) => {
          const message = error instanceof Error ? error.message : String(error);
          health.recordWriteError(message);
          log.error({ err: error, writes }, 'flush failed; its writes were answered WRITE_FAILED');
        },
        onOutcomeUnknown: (error, writes) => {
          sidecar?.ownershipLost(error, writes);
        },
      }, layers !== undefined ? layeredAdmission(schema) : schema === undefined ? undefined : schemaAdmission(schema));
      renderer.source = () => queue.snapshot();
      layers?.attach(queue);
      if (layers !== undefined) health.layerReasons = () => layers?.reasons(queue.committed) ?? [];
      if (loaded.oversized !== undefined) {
        const mismatch = `${configPath} is ${loaded.oversized.size} bytes, above maxDocumentBytes ${limits.maxDocumentBytes}: it was not read; the last committed state is served`;
        oversized = new SchemaFallback(mismatch, 'the file is replaced by one within the limit (a hand edit, or `config-sidecar restore`)', queue, health, log, 'the config file is over maxDocumentBytes: serving the last committed state read-only');
        oversized.enter();
      }
      if (schema !== undefined && schemaStart !== undefined) schemaRunning = await applySchemaStart(schema, schemaStart, { file, queue, health, fs, log });
      watches = new WatchHub(epoch, history, () => queue.committed, limits, options.progressMs, counters.watches);
      sidecar = new Sidecar(configPath, socketPath, epoch, limits, log, queue, health, file, ownership, watches, undefined, schema, schemaRunning, options, counters, layers, checkpoints, renderer);
      sidecar.onFatal = options.onFatal;
      await sidecar.bind();
      sidecar.fileWatch.start();
      log.info({ config: configPath, ...(givenPath === configPath ? {} : { link: givenPath }), socket: socketPath, existed: loaded.existed, epoch }, 'serving');
      return sidecar;
    } catch (error) {
      await layers?.close().catch((closeError: unknown) => log.error({ err: closeError }, 'could not stop the layer sources'));
      await renderer?.close();
      await opened?.close().catch((closeError: unknown) => log.error({ err: closeError }, 'could not close the commit journal'));
      await ownership.release().catch((releaseError: unknown) => log.error({ err: releaseError }, 'could not release the ownership lock'));
      if (error instanceof AlreadyOwnedError && error.owner === undefined) {
        throw new Error(`another sidecar already answers on ${socketPath}; refusing to take its socket`);
      }
      throw error;
    }
  }

  /**
   * A flush could not tell whether it landed: another process has fenced this
   * one off (or the journal could not be made consistent). Nothing more is
   * written; the writes in flight stay unanswered (their clients see
   * OUTCOME_UNKNOWN when the process exits) and the process is told to stop.
   */
  private ownershipLost(error: OutcomeUnknown, writes: number): void {
    if (this.lost) return;
    this.lost = true;
    this.health.lockLost = true;
    const successor = successorOf(stateDirFor(this.configPath));
    this.log.fatal(
      { err: error, inFlight: writes },
      `lost ownership of ${this.configPath} to ${successor}: ${writes} write(s) in flight have an unknown outcome; nothing more is written, stopping`,
    );
    if (this.onFatal !== undefined) this.onFatal(error);
    // Embedded without a fatal handler: stop serving a file this process no longer owns.
    else void this.stop().catch((stopError: unknown) => this.log.error({ err: stopError }, 'stop after losing ownership failed'));
  }

  /** The committed revision. */
  get revision(): number {
    return this.queue.committed.revision;
  }

  private async bind(): Promise<void> {
    const handle = createHandler({
      epoch: this.epoch,
      configPath: this.configPath,
      queue: this.queue,
      health: this.health,
      memoryEqualsDisk: () => this.checkpoints.failure === undefined,
      checkpoints: this.checkpoints,
      journalUse: this.file.journalUse,
      beforeHealth: async () => {
        await this.schemaRunning?.refreshHealth();
        // A deposed owner exits once it wakes; health stops naming it then.
        this.health.deposedOwners = await this.file.generation.liveDeposed();
      },
      eventLoop: this.eventLoop,
      log: this.log,
      counters: this.counters,
      handEdits: this.handEdits.counts,
      connections: () => this.sessions.size,
      startedAt: this.startedAt,
      systemInfo: new SystemInfo(),
      watches: this.watches,
      backups: this.file.backups,
      schema: this.schema,
      fleetStatus: () => this.layers?.fleetStatus(),
      identity: {
        version: VERSION,
        configPath: this.configPath,
        socketPath: this.socketPath,
        stateDir: stateDirFor(this.configPath),
        schema: this.schema === undefined ? null : { source: this.schema.source, version: this.schema.version ?? null },
      },
    });
    const host = {
      limits: this.limits,
      log: this.log,
      serverHello: (): ServerHello => ({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        server: { version: VERSION, pid: process.pid },
        epoch: this.epoch,
        revision: this.queue.committed.revision,
        limits: this.limits,
        ...(this.schema === undefined ? {} : { schemaHash: this.schema.hash }),
      }),
      handle: (request: Request, origin: RequestOrigin) => {
        if (this.stopping !== undefined) {
          return Promise.reject(new ProtocolError(ErrorCode.SHUTTING_DOWN, 'the sidecar is stopping'));
        }
        return handle(request, origin);
      },
      outbound: new OutboundBudget(this.limits.maxTotalOutboundBytes),
      watchCount: (session: Session) => this.watches.countFor(session),
      counters: this.counters,
      keepCommitted: () => void this.queue.snapshot(),
    };
    const readOnlyHost = { ...host, handle: (request: Request, origin: RequestOrigin) => host.handle(request, { ...origin, readOnly: true }) };
    // Made once: a flood of connections past the limit costs an error object (and its stack) per connection otherwise.
    const tooManyConnections = new ProtocolError(ErrorCode.LIMIT_EXCEEDED, `too many connections (maxConnections ${this.limits.maxConnections})`, {
      limit: 'maxConnections',
      max: this.limits.maxConnections,
    });
    const refusals = new RefusalQueue();
    const accept = (sessionHost: typeof host) => (connection: Connection) => {
      const session = new Session(connection, sessionHost, (ended) => {
        this.sessions.delete(ended);
        this.watches.removeAll(ended);
      });
      if (this.sessions.size >= this.limits.maxConnections) {
        this.counters.connectionsRefused++;
        session.refuse(tooManyConnections, (refusal) => refusals.add(refusal));
      } else {
        this.sessions.add(session);
      }
      return session;
    };
    const onError = (error: Error) => {
      // A client that vanished mid-write is its own business; anything else is ours.
      const code = (error as { code?: string }).code;
      if (code === 'ECONNRESET' || code === 'EPIPE') this.log.debug({ err: error }, 'client connection reset');
      else this.log.error({ err: error }, 'socket error');
    };
    this.listener = await listen(this.socketPath, this.sockets.socketAccess ?? { mode: 0o600 }, accept(host), onError);
    const readOnly = this.sockets.readOnlySocket;
    if (readOnly !== undefined) {
      this.readOnlyListener = await listen(readOnly.path, readOnly, accept(readOnlyHost), onError).catch(async (error: unknown) => {
        await this.listener?.close();
        throw error;
      });
    }
    this.eventLoop.start();
  }

  /** Graceful stop: no new work, queued writes flushed, pending requests answered, socket and lock removed. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.log.info('stopping');
    this.listener?.stopAccepting();
    this.readOnlyListener?.stopAccepting();
    this.fileWatch.stop();
    await this.layers?.close().catch((error: unknown) => this.log.warn({ err: error }, 'could not stop the layer sources'));
    if (!this.lost) await this.handEdits.request('file');
    this.queue.refuseWrites(new ProtocolError(ErrorCode.SHUTTING_DOWN, 'the sidecar is stopping'));
    await this.queue.drain();
    // The file is brought up to the last commit before the stop is recorded as clean.
    if (!this.lost) await this.checkpoints.settle();
    const fileCurrent = this.checkpoints.fileRevision === this.queue.committed.revision && this.checkpoints.failure === undefined;
    this.checkpoints.stop();
    await this.renderer.close();
    // Fenced off: writes in flight are never answered (their outcome is unknown), so don't wait for them.
    if (!this.lost) await Promise.all([...this.sessions].map((session) => session.drained()));
    for (const session of this.sessions) session.end();
    await this.listener?.close();
    await this.readOnlyListener?.close();
    this.watches.close();
    this.eventLoop.stop();
    if (!this.lost && fileCurrent) {
      await this.file
        .recordCleanStop(this.epoch, this.queue.committed.revision)
        .catch((error: unknown) => this.log.warn({ err: error }, 'could not record the epoch; the next start begins a new one'));
    }
    await this.file.close().catch((error: unknown) => this.log.warn({ err: error }, 'could not close the commit journal'));
    await this.ownership.release().catch((error: unknown) => this.log.warn({ err: error }, 'could not release the ownership lock'));
    this.log.info('stopped');
  }
}
