// The public client: typed calls over one self-healing connection. Nothing the
// sidecar sends and nothing a user callback throws reaches the host process as
// an exception: malformed messages drop the link (connection.ts), callback
// errors go to the 'error' event or an onError option.
import type { BackupEntry } from '../protocol/server-messages.js';
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { DEFAULT_APP_NAME, defaultSocketPath } from '../protocol/default-paths.js';
import { ErrorCode } from '../protocol/errors.js';
import type { LOG_LEVELS, RequestOp } from '../protocol/messages.js';
import type { ResultOf } from '../protocol/operations.js';
import { getAt, isPrefix, parsePath, type PathInput } from '../protocol/paths.js';
import type { HealthResult } from '../protocol/server-messages.js';
import type { AutoStartOptions } from './auto-start.js';
import type { Replica } from './replica.js';
import type { SchemaCheck } from './schema-check.js';
import { CallTable, type CallOptions } from './calls.js';
import { ClientErrorCode, ConfigSidecarError } from './client-errors.js';
import { Connection, loadWire } from './connection.js';
import type { ExpectedOwner } from './socket-trust.js';
import { DEFAULT_RECONNECT_POLICY, type ConnectionState, type ReconnectPolicy, type StatusEvent } from './reconnect.js';
import type { PathArg, ValueAt } from './typed-paths.js';
import { WatchStream } from './watch-stream.js';
import { WatchManager, type ChangeEvent, type WatchOptions } from './watches.js';

/** A callback watch: close() ends it. */
export interface WatchHandle {
  close(): void;
}

export interface ConnectOptions<S extends z.ZodType | undefined = undefined> {
  /** Socket path; default from `app` / $CONFIG_SIDECAR_SOCKET (same defaults as the sidecar). */
  socketPath?: string;
  app?: string;
  /**
   * Who must own the socket and its directory (a uid or user name; default: this process's user).
   * Anything else (except root) is refused with UNTRUSTED_SOCKET before connecting. Set it to the
   * service's user to reach a sidecar run as a system service.
   */
  expectedOwner?: ExpectedOwner;
  /** Name reported to the sidecar in hello (logs). */
  name?: string;
  /** A zod schema for the config: types every path and value. */
  schema?: S;
  /** Deadline for calls without their own (ms, default 5000). */
  defaultTimeoutMs?: number;
  /** Bound on calls queued while disconnected (default 1000 calls, 1 MiB). */
  maxQueuedCalls?: number;
  maxQueuedBytes?: number;
  /** Ping after this long without traffic (default 5000 ms). */
  heartbeatMs?: number;
  /** Reconnect delays and `maxAttempts` (then the client closes itself; `closed` status carries the last error). */
  reconnect?: Partial<ReconnectPolicy>;
  /** Where errors thrown by watch callbacks go when the watch has no onError of its own (else the 'error' event; with no listener, logged once). */
  onError?: (error: Error) => void;
  /**
   * When nothing answers on the socket, start a sidecar for it (detached, outliving this
   * process), then connect. `true`: the default config for `app`; an object names the
   * config, schema, log file. Of many clients doing this at once, one sidecar wins.
   */
  autoStart?: boolean | AutoStartOptions;
  /**
   * Keep a local copy of the document (`true`) or of the subtree at a path, current from a watch:
   * getSync/hasSync/store read it synchronously, get() answers from it once synced.
   */
  replica?: boolean | PathInput;
  /** With a replica: reads throw STALE when it has not heard from the sidecar for longer than this (ms). */
  maxStalenessMs?: number;
}

/** Options of a read: `fresh` asks the sidecar even when a synced replica could answer. */
export interface ReadOptions extends CallOptions {
  fresh?: boolean;
}

/** One backup the sidecar keeps, as `backups()` lists it (1 is the newest; restore goes by number). */
export type { BackupEntry };

/** A value with the revisions that locate it. */
export interface Entry<V> {
  value: V;
  /** Last revision that changed this path or anything under it. */
  modRevision: number;
  /** The store's revision when it was read. */
  revision: number;
  epoch: string;
  /** The layer the value comes from, when the sidecar serves layers (`serve --fleet`, `--system-file`, `--locks`). */
  layer?: 'default' | 'fleet' | 'system' | 'user';
}

/** What a committed write returns. */
export interface WriteResult {
  revision: number;
  epoch: string;
  results: { modRevision: number; existed: boolean }[];
}

/** A condition on any path: its modRevision must be this (0: the path must not exist). */
export interface Guard {
  path: PathInput;
  modRevision: number;
}

export interface WriteOptions extends CallOptions {
  /** Apply only if the written path's modRevision is this (0: only if it does not exist); else CONFLICT. */
  ifModRevision?: number;
  /** Apply only if every guard holds; else CONFLICT naming the first path that failed. */
  if?: Guard[];
  /**
   * Resolve only once the config file holds the write (a write is committed, durable and served
   * before the file is rewritten behind it). Rejects FILE_LAGGING if the file cannot be rewritten.
   */
  waitForFile?: boolean;
}

/** One operation of a batch: the value is typed by the schema's input type at its path. */
export type BatchOp<TIn> =
  | { [P in PathArg<TIn> & string]: { op: 'set'; path: P; value: ValueAt<TIn, P>; ifModRevision?: number } }[PathArg<TIn> & string]
  | { op: 'set'; path: Exclude<PathArg<TIn>, string>; value: ValueAt<TIn, Exclude<PathArg<TIn>, string>>; ifModRevision?: number }
  | { op: 'delete'; path: PathArg<TIn>; ifModRevision?: number };

/** Options of `close()`. */
export interface CloseOptions {
  /** Wait for writes already sent to be answered (bounded by their own deadlines) before closing. */
  drain?: boolean;
}

/** What a schema makes of the document (reads) and what it accepts (writes: defaults may be left out). */
type Doc<S> = S extends z.ZodType ? z.output<S> : Record<string, unknown>;
type DocInput<S> = S extends z.ZodType ? z.input<S> : Record<string, unknown>;

/** A request as the client sends it (the id is the call table's). */
type OutgoingRequest = { [Op in RequestOp]: Omit<z.input<typeof import('../protocol/messages.js').RequestSchema> & { op: Op }, 'id'> }[RequestOp];

export interface ClientEvents {
  status: [StatusEvent];
  /** An error thrown by a watch callback (or a watch refused) with no onError of its own. */
  error: [Error];
}

export class ConfigClient<T = Record<string, unknown>, TIn = T> extends EventEmitter<ClientEvents> {
  /** Resolves once the client is closed: by close(), or by itself when reconnect attempts ran out. */
  readonly closed: Promise<void>;
  private readonly connection: Connection;
  private readonly calls: CallTable;
  private readonly watches: WatchManager;
  private readonly streams = new Set<WatchStream>();
  private readonly defaultTimeoutMs: number;
  private readonly onError: ((error: Error) => void) | undefined;
  private markClosed!: () => void;
  private warnedUnhandled = false;
  private closing: Promise<void> | undefined;
  /** The local copy, once its module is loaded (only for clients that ask for one). */
  private replica: Replica | undefined;
  private readonly replicaLoad: Promise<Replica> | undefined;
  /** What the replica copies (the whole document: no segments). */
  private readonly replicaPrefix: readonly string[] = [];

  /** Checks writes before they are sent (the sidecar checks the whole document again); loaded with zod only when a schema is given. */
  private readonly schemaCheck: Promise<SchemaCheck> | undefined;
  /** The schema's hash once computed (before any call of a typed client is queued). */
  private clientHash: string | undefined;
  /** Set per connection when the sidecar announced another schema. */
  private schemaMismatch: ConfigSidecarError | undefined;

  /** Use connect(). */
  constructor(options: ConnectOptions<z.ZodType | undefined> = {}) {
    super();
    // Deadlines every call and heartbeat inherits: refused here, naming the option, rather than by each call.
    for (const [name, value] of [
      ['defaultTimeoutMs', options.defaultTimeoutMs],
      ['heartbeatMs', options.heartbeatMs],
    ] as const) {
      if (value !== undefined && (typeof value !== 'number' || !(value > 0))) throw new TypeError(`${name} must be a number of milliseconds > 0, got ${typeof value} ${String(value)}`);
    }
    this.onError = options.onError;
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    const socketPath = options.socketPath ?? defaultSocketPath(options.app ?? DEFAULT_APP_NAME);
    let expectedUid: Promise<number> | undefined;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 5000;
    // zod and the schema hash are loaded only for a client given a schema (the import path stays light without).
    this.schemaCheck =
      options.schema === undefined
        ? undefined
        : import('./schema-check.js').then((module) => {
            const check = module.prepareSchemaCheck(options.schema!);
            this.clientHash = check.hash;
            const hello = this.connection.hello;
            if (hello !== undefined) this.schemaMismatch = schemaMismatch(hello.schemaHash, check.hash);
            return check;
          });
    this.schemaCheck?.catch((error: unknown) => this.report(error instanceof Error ? error : new Error(String(error))));
    this.connection = new Connection(
      {
        socketPath,
        clientName: options.name ?? process.argv[1] ?? 'client',
        heartbeatMs: options.heartbeatMs ?? 5000,
        reconnect: { ...DEFAULT_RECONNECT_POLICY, ...options.reconnect },
        expectedUid: () => (expectedUid ??= loadWire().then((wire) => wire.resolveOwner(options.expectedOwner ?? process.getuid?.() ?? 0))),
      },
      () =>
        // Past calls held for their local check: a slow check must not look like a dead link.
        this.calls.call({ op: 'ping' }, { timeoutMs: options.heartbeatMs ?? 5000 }, { ahead: true }).then(
          () => true,
          () => false,
        ),
    );
    this.calls = new CallTable({
      defaultTimeoutMs: this.defaultTimeoutMs,
      maxQueuedCalls: options.maxQueuedCalls ?? 1000,
      maxQueuedBytes: options.maxQueuedBytes ?? 1024 * 1024,
      send: (request, id) => {
        // Refused at the moment it would go out: a sidecar serving another schema gets nothing but heartbeats.
        if (this.schemaMismatch !== undefined && request.op !== 'ping') throw this.schemaMismatch;
        return this.connection.send({ id, ...request });
      },
      sizeOf: (request) => this.connection.sizeOf(request),
      unavailableReason: () =>
        this.connection.state === 'connected' ? undefined : `${socketPath}: ${this.connection.lastError ?? 'not connected yet'}`,
      refusal: () => (this.connection.state === 'connected' ? undefined : this.connection.untrusted),
    });
    this.watches = new WatchManager({
      watch: (request, callOptions) => this.request(request, callOptions),
      unwatch: (watchId) => {
        // Best effort: the watch ends with the connection either way.
        this.request({ op: 'unwatch', watchId }, { timeoutMs: 5000 }).catch((error: unknown) => {
          if (!(error instanceof ConfigSidecarError)) this.report(error as Error);
        });
      },
      isConnected: () => this.connection.state === 'connected',
      onResynced: (epoch, revision) => this.connection.emit('status', { type: 'resynced', epoch, revision }),
    });
    // The replica's code loads only for clients that ask for one; its watch opens once it is loaded.
    const replicaOption = options.replica;
    if (replicaOption !== undefined && replicaOption !== false && replicaOption !== true) this.replicaPrefix = parsePath(replicaOption);
    this.replicaLoad =
      replicaOption === undefined || replicaOption === false
        ? undefined
        : import('./replica.js').then((module) => {
            this.replica = new module.Replica(this.replicaPrefix, this.watches, {
              maxStalenessMs: options.maxStalenessMs,
              fail: (error) => this.report(error),
              barrier: () => this.ping({ timeoutMs: this.defaultTimeoutMs }),
            });
            if (this.connection.state === 'closed') this.replica.close();
            return this.replica;
          });
    this.replicaLoad?.catch((error: unknown) => this.report(error instanceof Error ? error : new Error(String(error))));
    this.connection.on('message', (incoming) => {
      if (incoming.kind === 'response') this.calls.onResponse(incoming.message.id, incoming.message);
      else this.watches.onPush(incoming.message);
    });
    this.connection.on('ready', (hello) => {
      if (this.clientHash !== undefined) this.schemaMismatch = schemaMismatch(hello.schemaHash, this.clientHash);
      this.calls.onConnected();
      this.watches.onConnected();
    });
    this.connection.on('untrusted', (error) => this.calls.failQueued(error));
    this.connection.on('lost', (reason) => {
      this.calls.onDisconnected(reason);
      this.watches.onDisconnected();
      this.replica?.onLost();
    });
    this.connection.on('status', (event) => {
      if (event.type === 'closed') this.onClosed(event.error);
      this.emit('status', event);
    });
    this.connection.start();
  }

  /** The connection's state now. */
  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Resolves when connected (at once if already); rejects on timeout or close. */
  ready(options: CallOptions = {}): Promise<void> {
    return this.ping(options).then(() => undefined);
  }

  /**
   * The value at `path`, or undefined when nothing is there (as conf and Map do);
   * `{ default }` is returned instead of undefined. getEntry() tells a missing path apart (NOT_FOUND).
   */
  get<P extends PathArg<T>>(path: P, options?: ReadOptions): Promise<ValueAt<T, P> | undefined>;
  get<P extends PathArg<T>, D>(path: P, options: ReadOptions & { default: D }): Promise<Exclude<ValueAt<T, P>, undefined> | D>;
  async get<P extends PathArg<T>>(path: P, options: ReadOptions & { default?: unknown } = {}): Promise<unknown> {
    const replica = this.replica;
    if (replica !== undefined && replica.ready && options.fresh !== true && replica.covers(path)) {
      const value = replica.read(path);
      return value === undefined ? options.default : value; // a stored null is a value
    }
    try {
      return (await this.getEntry(path, options)).value;
    } catch (error) {
      if (error instanceof ConfigSidecarError && error.code === ErrorCode.NOT_FOUND) return options.default;
      throw error;
    }
  }

  /** Whether anything is at `path`. */
  async has(path: PathArg<T>, options?: ReadOptions): Promise<boolean> {
    return (await this.get(path, options)) !== undefined;
  }

  /**
   * The value at `path` in the replica, read synchronously (a frozen value, shared with later reads);
   * throws NOT_READY before the replica's first snapshot (`await synced()`), STALE past `maxStalenessMs`.
   */
  getSync<P extends PathArg<T>>(path: P): ValueAt<T, P> | undefined;
  getSync<P extends PathArg<T>, D>(path: P, fallback: D): Exclude<ValueAt<T, P>, undefined> | D;
  getSync<P extends PathArg<T>>(path: P, fallback?: unknown): unknown {
    const value = this.replicaOrThrow().read(path);
    return value === undefined ? fallback : value; // a stored null is a value
  }

  /** Whether anything is at `path` in the replica (as getSync). */
  hasSync(path: PathArg<T>): boolean {
    return this.replicaOrThrow().read(path) !== undefined;
  }

  /** The whole replica as a frozen plain object, replaced (not mutated) on each change; the subtree for a prefix replica. */
  get store(): Readonly<T> {
    return this.replicaOrThrow().store() as Readonly<T>;
  }

  /** Resolves once the replica holds its first snapshot. */
  async synced(): Promise<void> {
    if (this.replicaLoad === undefined) throw notAReplica();
    await (await this.replicaLoad).synced(this.closed);
  }

  /** The revision the replica reflects (0 before its first snapshot). */
  revision(): number {
    if (this.replicaLoad === undefined) throw notAReplica();
    return this.replica?.revision() ?? 0;
  }

  /** Milliseconds since the replica last heard from the sidecar (0 while its watch is live). */
  staleness(): number {
    if (this.replicaLoad === undefined) throw notAReplica();
    return this.replica?.staleness() ?? 0;
  }

  /** The value with its revisions; rejects NOT_FOUND when nothing is at `path`. */
  async getEntry<P extends PathArg<T>>(path: P, options?: CallOptions): Promise<Entry<ValueAt<T, P>>> {
    const { value, modRevision, revision, epoch, layer } = await this.request({ op: 'get', path: pathOf(path) }, options);
    return { value: value as ValueAt<T, P>, modRevision, revision, epoch, ...(layer === undefined ? {} : { layer }) };
  }

  /**
   * Writes `value` at `path` (typed by the schema's input type: fields with defaults may be left out).
   * A value equal to the current one is acknowledged with the current revision and creates no revision and no event.
   */
  set<P extends PathArg<TIn>>(path: P, value: ValueAt<TIn, P>, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write({ op: 'set', path: pathOf(path), value, ifModRevision: options.ifModRevision }, options);
  }

  delete<P extends PathArg<TIn>>(path: P, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write({ op: 'delete', path: pathOf(path), ifModRevision: options.ifModRevision }, options);
  }

  /** Several sets/deletes applied atomically as one revision. */
  async batch(ops: BatchOp<TIn>[], options: WriteOptions = {}): Promise<WriteResult> {
    const wireOps = ops.map((op) =>
      op.op === 'set'
        ? { op: 'set' as const, path: pathOf(op.path), value: op.value, ...(op.ifModRevision === undefined ? {} : { ifModRevision: op.ifModRevision }) }
        : { op: 'delete' as const, path: pathOf(op.path), ...(op.ifModRevision === undefined ? {} : { ifModRevision: op.ifModRevision }) },
    );
    const check = async (schema: SchemaCheck) => {
      for (const op of wireOps) if (op.op === 'set') await schema.checkValue(parsePath(op.path), op.value);
    };
    const result = await this.tracked(this.request({ op: 'batch', ops: wireOps, ...guardsOf(options) }, options, check));
    await this.reflected(result, wireOps.map((op) => op.path), options);
    return result;
  }

  /**
   * Read-modify-write without lost updates: reads the value and its
   * modRevision, computes `fn(current)`, writes it only if nothing changed in
   * between (ifModRevision), and tries again on CONFLICT until the deadline.
   * `fn` receives undefined when the path does not exist; returning undefined deletes it.
   */
  async update<P extends PathArg<T> & PathArg<TIn>>(
    path: P,
    fn: (current: ValueAt<T, P> | undefined) => ValueAt<TIn, P> | undefined | Promise<ValueAt<TIn, P> | undefined>,
    options: CallOptions = {},
  ): Promise<WriteResult & { value: ValueAt<TIn, P> | undefined }> {
    const deadline = Date.now() + (options.timeoutMs ?? this.defaultTimeoutMs);
    for (let attempt = 0; ; attempt++) {
      const remaining = (): CallOptions => ({ signal: options.signal, timeoutMs: Math.max(1, deadline - Date.now()) });
      let current: Entry<ValueAt<T, P>> | undefined;
      try {
        current = await this.getEntry(path, remaining());
      } catch (error) {
        if (!(error instanceof ConfigSidecarError && error.code === ErrorCode.NOT_FOUND)) throw error;
      }
      const next = await fn(current?.value);
      const ifModRevision = current?.modRevision ?? 0;
      try {
        const result =
          next === undefined
            ? await this.delete(path, { ...remaining(), ifModRevision })
            : await this.set(path, next, { ...remaining(), ifModRevision });
        return { ...result, value: next };
      } catch (error) {
        if (!(error instanceof ConfigSidecarError && error.code === ErrorCode.CONFLICT)) throw error;
        if (Date.now() >= deadline) {
          throw new ConfigSidecarError(ClientErrorCode.TIMEOUT, `update of ${String(path)} kept conflicting for ${attempt + 1} attempts`);
        }
        // Many writers retrying in lockstep would mostly conflict again: spread them out (full jitter).
        await conflictBackoff(attempt, deadline, options.signal);
      }
    }
  }

  /** `ack`: acknowledges a reported hand-edit merge conflict first. */
  async health(options?: CallOptions & { ack?: boolean }): Promise<HealthResult> {
    return withoutEnvelope(await this.request({ op: 'health', ...(options?.ack === true ? { ack: true } : {}) }, options));
  }

  /** Runtime facts: the sidecar (version, pid, uptime, paths) and the machine (OS, kernel, virtualization, container, WSL, user's shell). */
  async info(options?: CallOptions): Promise<Record<string, unknown>> {
    return withoutEnvelope(await this.request({ op: 'info' }, options));
  }

  /** Counters, latencies and event-loop delay of the sidecar. */
  async stats(options?: CallOptions): Promise<Record<string, unknown>> {
    return withoutEnvelope(await this.request({ op: 'stats' }, options));
  }

  /** Sets the sidecar's log level until it stops (SIGUSR2 steps it too); without `level` only asks. Resolves to the level now and the one before. */
  async logLevel(level?: (typeof LOG_LEVELS)[number], options?: CallOptions): Promise<{ level: string; previous: string }> {
    const { level: now, previous } = await this.request(level === undefined ? { op: 'logLevel' } : { op: 'logLevel', level }, options);
    return { level: now, previous };
  }

  /** The sidecar's backups, newest first, numbered from 1 (it reads its own state directory). */
  async backups(options?: CallOptions): Promise<BackupEntry[]> {
    return (await this.request({ op: 'backups' }, options)).backups;
  }

  /** Brings backup `n` (1 = newest) back as a new revision; the sidecar reads the backup itself. */
  async restore(n: number, options?: CallOptions): Promise<WriteResult & { restored: string }> {
    const result = await this.tracked(this.request({ op: 'restore', n }, options));
    await this.reflected(result, [[]], options ?? {});
    return { epoch: result.epoch, revision: result.revision, results: result.results, restored: result.restored };
  }

  async ping(options?: CallOptions): Promise<{ epoch: string; revision: number }> {
    const { epoch, revision } = await this.request({ op: 'ping' }, options);
    return { epoch, revision };
  }

  /**
   * Connection status: first the state now (`connected` with its position, or
   * `connecting` / `reconnecting` / `closed`), then every change, until closed.
   */
  async *status(): AsyncGenerator<StatusEvent, void, undefined> {
    const buffered: StatusEvent[] = [this.currentStatus()];
    let wake: (() => void) | undefined;
    const listener = (event: StatusEvent) => {
      buffered.push(event);
      wake?.();
    };
    this.on('status', listener);
    try {
      for (;;) {
        while (buffered.length > 0) {
          const event = buffered.shift()!;
          yield event;
          if (event.type === 'closed') return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.off('status', listener);
    }
  }

  /**
   * Watches a path: `for await (const change of client.watch('server'))`, or
   * with a callback, `client.watch('server', (change) => ...)`. Changes arrive
   * per revision, in order, none twice, and survive reconnects and sidecar
   * restarts (as a `resync` difference when the missed revisions are gone).
   */
  watch(path: PathArg<T>, options?: WatchOptions): WatchStream;
  watch(path: PathArg<T>, callback: (change: ChangeEvent) => void, options?: WatchOptions): WatchHandle;
  watch(
    path: PathArg<T>,
    callbackOrOptions?: ((change: ChangeEvent) => void) | WatchOptions,
    maybeOptions?: WatchOptions,
  ): WatchStream | WatchHandle {
    const callback = typeof callbackOrOptions === 'function' ? callbackOrOptions : undefined;
    const options = (typeof callbackOrOptions === 'function' ? maybeOptions : callbackOrOptions) ?? {};
    const segments = parsePath(pathOf(path));
    if (callback !== undefined) {
      const fail = (error: Error) => (options.onError !== undefined ? this.guarded(() => options.onError!(error)) : this.report(error));
      const close = this.watches.open(segments, options, (event) => this.guarded(() => callback(event), fail), fail);
      return { close };
    }
    const stream = new WatchStream(segments, options.maxBufferedEvents ?? 10_000);
    const close = this.watches.open(segments, options, stream.push, stream.fail);
    this.streams.add(stream);
    stream.close = () => {
      close();
      this.streams.delete(stream);
      stream.end(); // a reader waiting in for-await finishes
    };
    if (options.signal?.aborted) stream.close();
    options.signal?.addEventListener('abort', () => stream.close(), { once: true });
    return stream;
  }

  /**
   * Calls `listener(newValue, oldValue)` whenever the value at `path` changes
   * (not for the value it has now); returns the function that stops it.
   * Values are undefined where the path does not exist.
   */
  onDidChange<P extends PathArg<T>>(path: P, listener: (newValue: ValueAt<T, P> | undefined, oldValue: ValueAt<T, P> | undefined) => void): () => void {
    const segments = parsePath(pathOf(path));
    const fail = (error: Error) => this.report(error);
    if (this.replicaLoad !== undefined && isPrefix(this.replicaPrefix, segments)) return this.onReplicaChange(segments, listener as (after: unknown, before: unknown) => void);
    return this.watches.open(
      segments,
      { initial: 'none' },
      (_event, after, before) =>
        this.guarded(() => listener((after.exists ? after.value : undefined) as ValueAt<T, P> | undefined, (before.exists ? before.value : undefined) as ValueAt<T, P> | undefined), fail),
      fail,
    );
  }

  /**
   * Closes the connection; pending and later calls reject with CLOSED, watches end.
   * `{ drain: true }` first waits for writes already sent or queued to be answered.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const drained = options.drain === true ? Promise.allSettled([...this.writes]).then(() => undefined) : Promise.resolve();
    this.closing = drained.then(() => {
      this.connection.close();
      return this.closed;
    });
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close({ drain: true });
  }

  [Symbol.dispose](): void {
    void this.close();
  }

  private readonly writes = new Set<Promise<unknown>>();

  /** Remembers a write until it settles, for close({ drain }). */
  private tracked<R>(write: Promise<R>): Promise<R> {
    this.writes.add(write);
    const forget = () => this.writes.delete(write);
    write.then(forget, forget);
    return write;
  }

  private onClosed(error: string | undefined): void {
    this.watches.closeAll();
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    const message = error === undefined ? 'the client was closed' : `the client closed itself: ${error}`;
    this.calls.close(new ConfigSidecarError(ClientErrorCode.CLOSED, message));
    this.markClosed();
  }

  private currentStatus(): StatusEvent {
    const state = this.connection.state;
    const hello = this.connection.hello;
    if (state === 'connected' && hello !== undefined) return { type: 'connected', epoch: hello.epoch, revision: hello.revision };
    if (state === 'closed') return { type: 'closed' };
    if (state === 'reconnecting') return { type: 'disconnected', ...(this.connection.lastError === undefined ? {} : { error: this.connection.lastError }) };
    return { type: 'connecting' };
  }

  /** Runs user code; what it throws goes to `fail`, never up into the socket's handler. */
  private guarded(run: () => void, fail: (error: Error) => void = (error) => this.report(error)): void {
    try {
      run();
    } catch (error) {
      fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** An error with nowhere else to go: the onError option, else the 'error' event, else logged once. */
  private report(error: Error): void {
    if (this.onError !== undefined) {
      try {
        this.onError(error);
        return;
      } catch (thrown) {
        error = thrown instanceof Error ? thrown : new Error(String(thrown));
      }
    }
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', error);
      } catch (thrown) {
        if (!this.warnedUnhandled) process.emitWarning(`an 'error' listener of a config-sidecar client threw: ${(thrown as Error).message}`, { code: 'CONFIG_SIDECAR_ERROR' });
        this.warnedUnhandled = true;
      }
      return;
    }
    if (this.warnedUnhandled) return;
    this.warnedUnhandled = true;
    process.emitWarning(`a config-sidecar client callback failed and nothing listens for 'error' (later ones are not logged): ${error.stack ?? error.message}`, {
      code: 'CONFIG_SIDECAR_ERROR',
    });
  }

  private async write(op: { op: 'set'; path: string | string[]; value: unknown; ifModRevision?: number | undefined } | { op: 'delete'; path: string | string[]; ifModRevision?: number | undefined }, options: WriteOptions): Promise<WriteResult> {
    const request = { ...op, ...guardsOf(options) };
    if (request.ifModRevision === undefined) delete request.ifModRevision;
    const check = op.op === 'set' ? (schema: SchemaCheck) => schema.checkValue(parsePath(op.path), op.value) : undefined;
    const { epoch, revision, results } = await this.tracked(this.request(request, options, check));
    await this.reflected({ epoch, revision }, [op.path], options);
    return { epoch, revision, results };
  }

  /** Read-your-writes: a write resolves once the replica reflects it (or its deadline passes; reads then throw STALE until it does). */
  private async reflected(result: { epoch: string; revision: number }, paths: (string | readonly string[])[], options: CallOptions): Promise<void> {
    if (this.replicaLoad === undefined) return;
    const replica = await this.replicaLoad;
    const touches = paths.some((path) => {
      const segments = parsePath(typeof path === 'string' ? path : [...path]);
      return isPrefix(replica.prefix, segments) || isPrefix(segments, replica.prefix);
    });
    await replica.acknowledged(result.epoch, result.revision, touches, options.timeoutMs ?? this.defaultTimeoutMs);
  }

  private replicaOrThrow(): Replica {
    if (this.replica !== undefined) return this.replica;
    if (this.replicaLoad === undefined) throw notAReplica();
    throw new ConfigSidecarError(ClientErrorCode.NOT_READY, 'the replica has no snapshot yet: await client.synced() first');
  }

  /** onDidChange served by the replica: called when a change of the copy overlaps `segments`. */
  private onReplicaChange(segments: readonly string[], listener: (after: unknown, before: unknown) => void): () => void {
    let remove: (() => void) | undefined;
    let removed = false;
    void this.replicaLoad!.then((replica) => {
      if (removed) return;
      const below = segments.slice(replica.prefix.length);
      remove = replica.listen((event, after, before) => {
        if (!event.changes.some((change) => isPrefix(change.path, segments) || isPrefix(segments, change.path))) return;
        const next = after.exists ? getAt(after.value, below) : undefined;
        const previous = before.exists ? getAt(before.value, below) : undefined;
        if (next !== previous) listener(next, previous);
      });
    }, () => undefined);
    return () => {
      removed = true;
      remove?.();
    };
  }

  /**
   * Sends one request and checks its answer against the op's result shape (a malformed one drops the link).
   * The call takes its place in the call table in this turn, so calls go out in the order they were made.
   * With a schema it is held there until the schema is loaded (its hash is known before anything is
   * sent) and `localCheck` passed; its deadline and signal count meanwhile.
   */
  private async request<R extends OutgoingRequest>(request: R, options?: CallOptions, localCheck?: (schema: SchemaCheck) => Promise<void>): Promise<ResultOf<R['op']>> {
    const schemaCheck = this.schemaCheck;
    const check =
      schemaCheck === undefined
        ? undefined
        : schemaCheck.then(async (schema) => {
            await localCheck?.(schema);
          });
    const response = await this.calls.call(request, options, { check });
    if (response.ok === false) throw ConfigSidecarError.fromWire(response.error);
    // Loaded already: the answer came over the transport it brings.
    const { OPERATION_RESPONSES, ShapeError } = this.connection.loadedWire ?? (await loadWire());
    try {
      // The answer is returned as checked, `id` and `ok` included (callers pick the fields they hand out).
      return OPERATION_RESPONSES[request.op].check(response, `${request.op} result`) as ResultOf<R['op']>;
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      this.connection.dropMalformed(`malformed ${request.op} result from sidecar: ${error.message}`);
      throw new ConfigSidecarError(ErrorCode.PROTOCOL, `the sidecar's answer to ${request.op} is malformed: ${error.message}`);
    }
  }

}

/** Creates a client and starts connecting; calls made before it connects wait in a bounded queue. */
export function connect<S extends z.ZodType | undefined = undefined>(options: ConnectOptions<S> = {}): ConfigClient<Doc<S>, DocInput<S>> {
  const client = new ConfigClient<Doc<S>, DocInput<S>>(options);
  if (options.autoStart) {
    const socketPath = options.socketPath ?? defaultSocketPath(options.app ?? DEFAULT_APP_NAME);
    const autoStart = options.autoStart === true ? {} : options.autoStart;
    // Loaded only for clients that ask (it brings node:net and node:child_process); status seen meanwhile is handed over.
    const earlier: StatusEvent[] = [];
    const remember = (event: StatusEvent) => earlier.push(event);
    client.on('status', remember);
    import('./auto-start.js').then(
      (module) => {
        client.off('status', remember);
        module.startOnDemand(client, socketPath, options.app, autoStart, earlier);
      },
      (error: unknown) => {
        client.off('status', remember);
        process.emitWarning(`cannot load the auto-start module: ${(error as Error).message}`, { code: 'CONFIG_SIDECAR_AUTOSTART' });
      },
    );
  }
  return client;
}

/** Most a CAS retry waits after repeated conflicts (ms): enough to spread dozens of writers over a few flushes. */
const MAX_CONFLICT_BACKOFF_MS = 50;

/** Waits rand(0..min(2^attempt, 50)) ms, never past the deadline; an abort ends the wait (the next call reports it). */
function conflictBackoff(attempt: number, deadline: number, signal: AbortSignal | undefined): Promise<void> {
  const ms = Math.min(Math.random() * Math.min(2 ** attempt, MAX_CONFLICT_BACKOFF_MS), Math.max(0, deadline - Date.now()));
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** SCHEMA_MISMATCH unless the sidecar announced the same schema hash as this client's. */
function schemaMismatch(sidecar: string | undefined, client: string): ConfigSidecarError | undefined {
  if (sidecar === client) return undefined;
  return new ConfigSidecarError(
    ClientErrorCode.SCHEMA_MISMATCH,
    sidecar === undefined
      ? 'the sidecar serves no schema, but this client was given one: start the sidecar with the same --schema (or connect without one); nothing was sent'
      : `the sidecar serves a different schema (hash ${sidecar}) from this client's (hash ${client}): give both the same schema; nothing was sent`,
    { sidecar: sidecar ?? null, client },
  );
}

function notAReplica(): ConfigSidecarError {
  return new ConfigSidecarError(ClientErrorCode.NOT_REPLICATED, 'this client keeps no replica: connect with { replica: true } (or a path prefix)');
}

/** A result without the response's `id` and `ok`. */
function withoutEnvelope<R extends object>(response: R): R {
  const { id: _id, ok: _ok, ...result } = response as R & { id?: unknown; ok?: unknown };
  return result as R;
}

/** A path as the wire takes it: dot string or a copy of the segment array. */
function pathOf(path: PathInput): string | string[] {
  return typeof path === 'string' ? path : [...path];
}

/** The `if` guards and the waitForFile flag of a write, as the request carries them. */
function guardsOf(options: WriteOptions): { if?: { path: string | string[]; modRevision: number }[]; waitForFile?: true } {
  return {
    ...(options.if === undefined ? {} : { if: options.if.map((guard) => ({ path: pathOf(guard.path), modRevision: guard.modRevision })) }),
    ...(options.waitForFile === true ? { waitForFile: true as const } : {}),
  };
}
