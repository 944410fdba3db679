// The public client: typed calls over one self-healing connection.
import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import {
  BackupsResultSchema,
  DEFAULT_APP_NAME,
  ErrorCode,
  HealthResultSchema,
  RestoreResultSchema,
  defaultSocketPath,
  encodeValue,
  parsePath,
  type HealthResult,
  type PathInput,
  type WriteOp,
} from '../protocol/index.js';
import { startOnDemand, type AutoStartOptions } from './auto-start.js';
import { CallTable, type CallOptions } from './calls.js';
import { ClientErrorCode, ConfigSidecarError } from './client-errors.js';
import { Connection } from './connection.js';
import { resolveOwner, type ExpectedOwner } from './socket-trust.js';
import { DEFAULT_RECONNECT_POLICY, type ConnectionState, type ReconnectPolicy, type StatusEvent } from './reconnect.js';
import type { PathArg, ValueAt } from './typed-paths.js';
import { checkValue } from './local-validation.js';
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
  reconnect?: Partial<ReconnectPolicy>;
  /**
   * When nothing answers on the socket, start a sidecar for it (detached, outliving this
   * process), then connect. `true`: the default config for `app`; an object names the
   * config, schema, log file. Of many clients doing this at once, one sidecar wins.
   */
  autoStart?: boolean | AutoStartOptions;
}

/** One backup the sidecar keeps, as `backups()` lists it. */
export interface BackupEntry {
  /** 1 is the newest. */
  n: number;
  name: string;
  /** Where the sidecar keeps it (informational: restore by number). */
  path: string;
  bytes: number;
  modified: string;
}

/** A value with the revisions that locate it. */
export interface Entry<V> {
  value: V;
  /** Last revision that changed this path or anything under it. */
  modRevision: number;
  /** The store's revision when it was read. */
  revision: number;
  epoch: string;
}

/** What a committed write returns. */
export interface WriteResult {
  revision: number;
  epoch: string;
  results: { modRevision: number; existed: boolean }[];
}

export interface WriteOptions extends CallOptions {
  /** Apply only if the path's modRevision is this (0: only if it does not exist); else CONFLICT. */
  ifModRevision?: number;
}

export type BatchOp<T> =
  | { op: 'set'; path: PathArg<T>; value: unknown; ifModRevision?: number }
  | { op: 'delete'; path: PathArg<T>; ifModRevision?: number };

type Doc<S> = S extends z.ZodType ? z.infer<S> : Record<string, unknown>;

export class ConfigClient<T = Record<string, unknown>> extends EventEmitter<{ status: [StatusEvent] }> {
  private readonly connection: Connection;
  private readonly calls: CallTable;
  private readonly statusListeners = new Set<(event: StatusEvent) => void>();
  private readonly watches: WatchManager;
  private readonly streams = new Set<WatchStream>();
  private readonly defaultTimeoutMs: number;

  /** Checks writes before they are sent (the sidecar checks the whole document again). */
  private readonly schema: z.ZodType | undefined;

  /** Use connect(). */
  constructor(options: ConnectOptions<z.ZodType | undefined> = {}) {
    super();
    this.schema = options.schema;
    const socketPath = options.socketPath ?? defaultSocketPath(options.app ?? DEFAULT_APP_NAME);
    let expectedUid: Promise<number> | undefined;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 5000;
    this.connection = new Connection(
      {
        socketPath,
        clientName: options.name ?? process.argv[1] ?? 'client',
        heartbeatMs: options.heartbeatMs ?? 5000,
        reconnect: { ...DEFAULT_RECONNECT_POLICY, ...options.reconnect },
        expectedUid: () => (expectedUid ??= resolveOwner(options.expectedOwner ?? process.getuid?.() ?? 0)),
      },
      () =>
        this.calls.call({ op: 'ping' }, { timeoutMs: options.heartbeatMs ?? 5000 }).then(
          () => true,
          () => false,
        ),
    );
    this.calls = new CallTable({
      defaultTimeoutMs: this.defaultTimeoutMs,
      maxQueuedCalls: options.maxQueuedCalls ?? 1000,
      maxQueuedBytes: options.maxQueuedBytes ?? 1024 * 1024,
      send: (request, id) => this.connection.send({ id, ...request }),
      sizeOf: (request) => encodeValue(request).length,
      unavailableReason: () =>
        this.connection.state === 'connected' ? undefined : `${socketPath}: ${this.connection.lastError ?? 'not connected yet'}`,
      refusal: () => (this.connection.state === 'connected' ? undefined : this.connection.untrusted),
    });
    this.watches = new WatchManager({
      request: (request, callOptions) => this.request(request, callOptions),
      isConnected: () => this.connection.state === 'connected',
      onResynced: (epoch, revision) => this.connection.emit('status', { type: 'resynced', epoch, revision }),
    });
    this.connection.on('message', (message) => {
      if (this.watches.onPush(message)) return;
      const id = message.id;
      if (typeof id === 'number') this.calls.onResponse(id, message);
    });
    this.connection.on('ready', () => {
      this.calls.onConnected();
      this.watches.onConnected();
    });
    this.connection.on('untrusted', (error) => this.calls.failQueued(error));
    this.connection.on('lost', (reason) => {
      this.calls.onDisconnected(reason);
      this.watches.onDisconnected();
    });
    this.connection.on('status', (event) => {
      this.emit('status', event);
      for (const listener of this.statusListeners) listener(event);
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

  async get<P extends PathArg<T>>(path: P, options?: CallOptions): Promise<ValueAt<T, P>> {
    return (await this.getEntry(path, options)).value;
  }

  async getEntry<P extends PathArg<T>>(path: P, options?: CallOptions): Promise<Entry<ValueAt<T, P>>> {
    const response = await this.request({ op: 'get', path }, options);
    return {
      value: response.value as ValueAt<T, P>,
      modRevision: response.modRevision as number,
      revision: response.revision as number,
      epoch: response.epoch as string,
    };
  }

  set<P extends PathArg<T>>(path: P, value: ValueAt<T, P>, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write({ op: 'set', path, value, ifModRevision: options.ifModRevision }, options);
  }

  delete<P extends PathArg<T>>(path: P, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write({ op: 'delete', path, ifModRevision: options.ifModRevision }, options);
  }

  /** Several sets/deletes applied atomically as one revision. */
  async batch(ops: BatchOp<T>[], options?: CallOptions): Promise<WriteResult> {
    for (const op of ops) if (op.op === 'set') await this.checkLocally(op.path, op.value);
    const response = await this.request({ op: 'batch', ops: ops as WriteOp[] }, options);
    return toWriteResult(response);
  }

  /**
   * Read-modify-write without lost updates: reads the value and its
   * modRevision, computes `fn(current)`, writes it only if nothing changed in
   * between (ifModRevision), and tries again on CONFLICT until the deadline.
   * `fn` receives undefined when the path does not exist; returning undefined deletes it.
   */
  async update<P extends PathArg<T>>(
    path: P,
    fn: (current: ValueAt<T, P> | undefined) => ValueAt<T, P> | undefined | Promise<ValueAt<T, P> | undefined>,
    options: CallOptions = {},
  ): Promise<WriteResult & { value: ValueAt<T, P> | undefined }> {
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
    return HealthResultSchema.parse(stripEnvelope(await this.request({ op: 'health', ...(options?.ack === true ? { ack: true } : {}) }, options)));
  }

  /** Runtime facts: the sidecar (version, pid, uptime, paths) and the machine (OS, kernel, virtualization, container, WSL, user's shell). */
  async info(options?: CallOptions): Promise<Record<string, unknown>> {
    return stripEnvelope(await this.request({ op: 'info' }, options));
  }

  /** Counters, latencies and event-loop delay of the sidecar. */
  async stats(options?: CallOptions): Promise<Record<string, unknown>> {
    return stripEnvelope(await this.request({ op: 'stats' }, options));
  }

  /** The sidecar's backups, newest first, numbered from 1 (it reads its own state directory). */
  async backups(options?: CallOptions): Promise<BackupEntry[]> {
    return BackupsResultSchema.parse(await this.request({ op: 'backups' }, options).then(stripEnvelope)).backups;
  }

  /** Brings backup `n` (1 = newest) back as a new revision; the sidecar reads the backup itself. */
  async restore(n: number, options?: CallOptions): Promise<WriteResult & { restored: string }> {
    const result = RestoreResultSchema.parse(stripEnvelope(await this.request({ op: 'restore', n }, options)));
    return { epoch: result.epoch, revision: result.revision, results: result.results, restored: result.restored };
  }

  async ping(options?: CallOptions): Promise<{ epoch: string; revision: number }> {
    const response = await this.request({ op: 'ping' }, options);
    return { epoch: response.epoch as string, revision: response.revision as number };
  }

  /** Connection status changes, from now until close(). */
  async *status(): AsyncGenerator<StatusEvent, void, undefined> {
    const buffered: StatusEvent[] = [];
    let wake: (() => void) | undefined;
    const listener = (event: StatusEvent) => {
      buffered.push(event);
      wake?.();
    };
    this.statusListeners.add(listener);
    try {
      for (;;) {
        while (buffered.length > 0) {
          const event = buffered.shift()!;
          yield event;
          if (event.type === 'closed') return;
        }
        if (this.connection.state === 'closed') return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.statusListeners.delete(listener);
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
    const segments = parsePath(path);
    if (callback !== undefined) {
      const close = this.watches.open(
        segments,
        options,
        (event) => {
          try {
            callback(event);
          } catch (error) {
            // A throwing callback must not break event delivery to others; it surfaces as an uncaught exception.
            queueMicrotask(() => {
              throw error;
            });
          }
        },
        (error) => {
          if (options.onError !== undefined) options.onError(error);
          else
            queueMicrotask(() => {
              throw error;
            });
        },
      );
      return { close };
    }
    const stream = new WatchStream(segments, options.maxBufferedEvents ?? 10_000);
    const close = this.watches.open(segments, options, stream.push, stream.fail);
    this.streams.add(stream);
    stream.close = () => {
      close();
      this.streams.delete(stream);
    };
    return stream;
  }

  /** Closes the connection; pending and later calls reject with CLOSED, watches end. */
  close(): void {
    this.watches.closeAll();
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    this.calls.close(new ConfigSidecarError(ClientErrorCode.CLOSED, 'the client was closed'));
    this.connection.close();
  }

  private async write(op: WriteOp, options: CallOptions): Promise<WriteResult> {
    if (op.op === 'set') await this.checkLocally(op.path, op.value);
    const request = op.ifModRevision === undefined ? { op: op.op, path: op.path, ...(op.op === 'set' ? { value: op.value } : {}) } : op;
    return toWriteResult(await this.request(request, options));
  }

  private async checkLocally(path: PathInput, value: unknown): Promise<void> {
    if (this.schema !== undefined) await checkValue(this.schema, parsePath(path), value);
  }

  private async request(request: Record<string, unknown> & { op: string }, options?: CallOptions): Promise<Record<string, unknown>> {
    const response = await this.calls.call(request, options);
    if (response.ok === false) throw ConfigSidecarError.fromWire(response.error as never);
    return response;
  }
}

/** Creates a client and starts connecting; calls made before it connects wait in a bounded queue. */
export function connect<S extends z.ZodType | undefined = undefined>(options: ConnectOptions<S> = {}): ConfigClient<Doc<S>> {
  const client = new ConfigClient<Doc<S>>(options);
  if (options.autoStart) {
    const socketPath = options.socketPath ?? defaultSocketPath(options.app ?? DEFAULT_APP_NAME);
    startOnDemand(client, socketPath, options.app, options.autoStart === true ? {} : options.autoStart);
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

function toWriteResult(response: Record<string, unknown>): WriteResult {
  return {
    revision: response.revision as number,
    epoch: response.epoch as string,
    results: response.results as WriteResult['results'],
  };
}

function stripEnvelope(response: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, ok: _ok, ...rest } = response;
  return rest;
}
