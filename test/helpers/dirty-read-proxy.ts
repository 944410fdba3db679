// A relay between clients and a real sidecar that can be made to break the
// read guarantee on purpose: in "dirty" mode it answers a get itself, from a
// write to the same path that it has passed on and that has not been
// acknowledged yet — a read from uncommitted state, as a sidecar answering
// gets from its working copy before the flush is durable would. In "faithful"
// mode it passes everything through. Tests use it to show the
// linearizability checker catches such a bug.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { DEFAULT_LIMITS, ErrorCode, FrameDecoder, decodeValue, encodeFrame, encodeMessage, maxResponseFrameBytes, parsePath, formatPath } from '../../protocol/index.js';

export type ProxyMode = 'dirty' | 'faithful';

/** A write passed on and not yet answered. */
interface PendingWrite {
  path: string;
  value: unknown;
  deleted: boolean;
}

export interface ProxyEvents {
  /** A write was passed on to the sidecar. */
  write: [path: string];
  /** A get was answered from a pending write ('dirty') or passed on ('forwarded'). */
  get: [path: string, how: 'dirty' | 'forwarded'];
}

export class DirtyReadProxy extends EventEmitter<ProxyEvents> {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Pending writes of every connection, by connection then request id. */
  private readonly pending = new Map<net.Socket, Map<number, PendingWrite>>();

  private constructor(
    private readonly upstreamPath: string,
    private readonly mode: ProxyMode,
  ) {
    super();
    this.server = net.createServer((client) => this.relay(client));
  }

  /** Listens on `listenPath` and relays each connection to a new connection to `upstreamPath`. */
  static async start(listenPath: string, upstreamPath: string, mode: ProxyMode): Promise<DirtyReadProxy> {
    const proxy = new DirtyReadProxy(upstreamPath, mode);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(listenPath, resolve);
    });
    return proxy;
  }

  /** Resolves at the next event `name` for `path`, or rejects after `timeoutMs`. */
  next<E extends keyof ProxyEvents>(name: E, path: string, timeoutMs = 10_000): Promise<ProxyEvents[E]> {
    return new Promise((resolve, reject) => {
      const listener = (...args: ProxyEvents[E]) => {
        if (args[0] !== path) return;
        clearTimeout(timer);
        this.off(name, listener as never);
        resolve(args);
      };
      const timer = setTimeout(() => {
        this.off(name, listener as never);
        reject(new Error(`no ${name} of ${path} through the proxy within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on(name, listener as never);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    const upstream = net.connect(this.upstreamPath);
    this.sockets.add(client).add(upstream);
    const writes = new Map<number, PendingWrite>();
    this.pending.set(client, writes);
    const fromClient = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes);
    const fromSidecar = new FrameDecoder(maxResponseFrameBytes(DEFAULT_LIMITS));
    const end = () => {
      this.pending.delete(client);
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);

    client.on('data', (chunk: Buffer) => {
      for (const payload of framesOrEnd(fromClient, chunk, end)) {
        const request = decodeValue(payload, DEFAULT_LIMITS) as Record<string, unknown>;
        if (request.op === 'get' && typeof request.id === 'number') {
          const path = formatPath(parsePath(request.path as string));
          const dirty = this.mode === 'dirty' ? this.latestPending(path) : undefined;
          if (dirty !== undefined) {
            client.write(encodeMessage(dirtyAnswer(request.id, dirty)));
            this.emit('get', path, 'dirty');
            continue;
          }
          this.emit('get', path, 'forwarded');
        }
        if ((request.op === 'set' || request.op === 'delete') && typeof request.id === 'number') {
          const path = formatPath(parsePath(request.path as string));
          writes.set(request.id, { path, value: request.value, deleted: request.op === 'delete' });
          upstream.write(encodeFrame(payload));
          this.emit('write', path);
          continue;
        }
        upstream.write(encodeFrame(payload));
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const payload of framesOrEnd(fromSidecar, chunk, end)) {
        const response = decodeValue(payload, { ...DEFAULT_LIMITS, maxDepth: DEFAULT_LIMITS.maxDepth + 1 }) as Record<string, unknown>;
        if (typeof response.id === 'number') writes.delete(response.id);
        client.write(encodeFrame(payload));
      }
    });
  }

  /** The last pending write to `path` on any connection (the working copy's view of it). */
  private latestPending(path: string): PendingWrite | undefined {
    let latest: PendingWrite | undefined;
    for (const writes of this.pending.values()) for (const write of writes.values()) if (write.path === path) latest = write;
    return latest;
  }
}

function framesOrEnd(decoder: FrameDecoder, chunk: Buffer, end: () => void): Buffer[] {
  try {
    return decoder.push(chunk);
  } catch (error) {
    // Not a test of framing: a broken stream just ends the relay, as the sidecar would end it.
    process.emitWarning(`relay closed: ${(error as Error).message}`);
    end();
    return [];
  }
}

/** The answer a sidecar reading its working copy would give. */
function dirtyAnswer(id: number, write: PendingWrite): Record<string, unknown> {
  if (write.deleted) return { id, ok: false, error: { code: ErrorCode.NOT_FOUND, message: `${write.path} does not exist` } };
  return { id, ok: true, epoch: 'working-copy', revision: 1, value: write.value, modRevision: 1 };
}
