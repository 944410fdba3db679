// The client's connection state machine: dial, hello, serve, and on any loss
// back to dialling after the policy's delay, until closed. One dial loop at a
// time (a second failure never starts a second loop). A heartbeat ping goes
// out after `heartbeatMs` without traffic; two missed and the link is dropped.
// Every message is checked against its shape before anyone sees it: a
// malformed one drops the link (and the loop reconnects), it never throws
// into the host process.
import { EventEmitter } from 'node:events';
import { ErrorCode } from '../protocol/errors.js';
import { DEFAULT_LIMITS, maxResponseFrameBytes, type Limits } from '../protocol/limits.js';
import type { ServerHello } from '../protocol/server-messages.js';
import { ClientErrorCode, ConfigSidecarError } from './client-errors.js';
import { DEFAULT_RECONNECT_POLICY, reconnectDelay, type ConnectionState, type ReconnectPolicy, type StatusEvent } from './reconnect.js';
import type { Link } from './transport.js';
import type { ClientHello } from '../protocol/messages.js';

export type Wire = typeof import('./wire.js');
let wireModule: Promise<Wire> | undefined;
/** The codec and transport, loaded once per process on the first dial. */
export function loadWire(): Promise<Wire> {
  return (wireModule ??= import('./wire.js'));
}

const HELLO_TIMEOUT_MS = 5000;

export interface ConnectionOptions {
  socketPath: string;
  clientName: string;
  heartbeatMs: number;
  reconnect: ReconnectPolicy;
  /** The uid the socket and its directory must belong to (besides root), checked before every dial. */
  expectedUid(): Promise<number>;
}

/** A checked message after hello: a response, or a watch push. */
export type IncomingMessage =
  | { kind: 'response'; message: import('../protocol/server-messages.js').Response }
  | { kind: 'event'; message: import('../protocol/server-messages.js').WatchEvent }
  | { kind: 'progress'; message: import('../protocol/server-messages.js').WatchProgress };

export interface ConnectionEvents {
  /** A checked message other than hello and connection errors. A listener that throws drops the link. */
  message: [incoming: IncomingMessage];
  status: [event: StatusEvent];
  /** Hello completed on a new link. */
  ready: [hello: ServerHello];
  /** The socket failed the trust check: nothing was dialled. */
  untrusted: [error: ConfigSidecarError];
  lost: [reason: string];
}

export class Connection extends EventEmitter<ConnectionEvents> {
  state: ConnectionState = 'connecting';
  hello: ServerHello | undefined;
  lastError: string | undefined;
  /** Set while the last trust check of the socket failed. */
  untrusted: ConfigSidecarError | undefined;
  private link: Link | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastTraffic = Date.now();
  private missedBeats = 0;
  private wire: Wire | undefined;

  constructor(
    private readonly options: ConnectionOptions,
    /** Sends a ping through the call table; resolves true if answered in time. */
    private readonly ping: () => Promise<boolean>,
  ) {
    super();
  }

  start(): void {
    this.emitStatus({ type: 'connecting' });
    this.open();
  }

  /** Sends one frame if a ready link exists; a frame above the sidecar's maxFrameBytes is refused here, keeping the link. */
  send(message: unknown): boolean {
    if (this.state !== 'connected' || this.link === undefined || this.wire === undefined) return false;
    const frame = this.wire.encodeMessage(message);
    const max = this.limits.maxFrameBytes;
    if (frame.length - 4 > max) {
      throw new ConfigSidecarError(ErrorCode.FRAME_TOO_LARGE, `the request is ${frame.length - 4} bytes, above the sidecar's maxFrameBytes ${max}; nothing was sent`, {
        limit: 'maxFrameBytes',
        max,
        actual: frame.length - 4,
      });
    }
    this.link.send(frame);
    return true;
  }

  get limits(): Limits {
    return this.hello?.limits ?? DEFAULT_LIMITS;
  }

  /** The transport's modules once loaded (every answer arrives after they are). */
  get loadedWire(): Wire | undefined {
    return this.wire;
  }

  /**
   * Encoded size of a request, for the queue bound; before the codec is loaded (or where it cannot
   * write the value) its JSON length, with a BigInt as its digits. Throws for a value that has no
   * JSON either (a cycle, a toJSON that throws): it can never be sent.
   */
  sizeOf(request: unknown): number {
    if (this.wire !== undefined) {
      try {
        return this.wire.encodeValue(request).length;
      } catch (unencodable) {
        // Measured as JSON below; the codec's own reason is given when the call is sent.
        if (!(unencodable instanceof Error)) throw unencodable;
      }
    }
    return Buffer.byteLength(JSON.stringify(request, measurable) ?? '');
  }

  /** Stops for good; `error` is why, when it was not the user's close (reconnect attempts exhausted). */
  close(error?: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    const link = this.link;
    this.link = undefined;
    link?.close();
    this.emitStatus(error === undefined ? { type: 'closed' } : { type: 'closed', error });
  }

  /** Drops the current link because something it carried was malformed; the loop reconnects. */
  dropMalformed(reason: string): void {
    if (this.link !== undefined) this.drop(this.link, reason);
  }

  /** Checks the socket, then dials it; an untrusted socket counts as a failed attempt. */
  private open(): void {
    const attempt = this.attempt;
    const wireLoad = loadWire();
    const trusted = Promise.all([wireLoad, this.options.expectedUid()])
      .then(([wire, uid]) => wire.checkSocketTrust(this.options.socketPath, uid))
      .catch(async (error: unknown) => {
        // The trust check is loaded with the transport: a failed load is reported as one (below), not as an untrusted socket.
        await wireLoad;
        throw error instanceof ConfigSidecarError ? error : new ConfigSidecarError(ClientErrorCode.UNTRUSTED_SOCKET, `cannot check ${this.options.socketPath}: ${(error as Error).message}`);
      });
    // The codec loads while the socket is checked (loading dials nothing); the dial waits for both.
    Promise.all([wireLoad, trusted])
      .then(
        ([wire]) => {
          this.untrusted = undefined;
          this.wire = wire;
          if (this.state !== 'closed' && this.attempt === attempt) this.dial(wire);
        },
        (error: unknown) => {
          if (this.state === 'closed' || this.attempt !== attempt) return;
          if (!(error instanceof ConfigSidecarError)) {
            // The library's own modules failed to load: nothing can ever be dialled.
            this.close(`cannot load the client's transport: ${(error as Error).message}`);
            return;
          }
          this.untrusted = error;
          this.emit('untrusted', error);
          this.onLost(error.message);
        },
      );
  }

  private dial(wire: Wire): void {
    let greeted = false;
    // A sidecar that accepts but never says hello (hung, or not a sidecar) must not hold the client forever.
    const helloTimer = setTimeout(() => this.drop(link, `no hello within ${HELLO_TIMEOUT_MS} ms`), HELLO_TIMEOUT_MS);
    const decoder = new wire.FrameDecoder(maxResponseFrameBytes(DEFAULT_LIMITS));
    const link: Link = wire.dial(this.options.socketPath, {
      onOpen: () => {
        const hello: ClientHello = { type: 'hello', protocol: wire.PROTOCOL_VERSION, client: { name: this.options.clientName.slice(0, 256), pid: process.pid } };
        link.send(wire.encodeMessage(hello));
      },
      onData: (data) => {
        this.lastTraffic = Date.now();
        let frames: Buffer[];
        try {
          frames = decoder.push(data);
        } catch (error) {
          this.drop(link, `bad frame from sidecar: ${(error as Error).message}`);
          return;
        }
        for (const frame of frames) {
          let message: unknown;
          try {
            // The sidecar keeps documents within its announced maxDepth; a few levels more for envelopes.
            message = wire.decodeValue(frame, { maxDepth: this.limits.maxDepth + 8, maxArrayLength: 2 ** 32, maxStringBytes: 2 ** 32 }, { exact: false });
          } catch (error) {
            this.drop(link, `bad message from sidecar: ${(error as Error).message}`);
            return;
          }
          if (!greeted) {
            const hello = wire.ServerHelloSchema.safeParse(message);
            if (!hello.success) {
              const refusal = wire.ConnectionErrorSchema.safeParse(message);
              this.drop(link, refusal.success ? `${refusal.data.error.code}: ${refusal.data.error.message}` : 'the sidecar did not answer hello');
              return;
            }
            greeted = true;
            clearTimeout(helloTimer);
            // A sidecar allowing larger documents sends larger answers.
            decoder.setMaxFrameBytes(maxResponseFrameBytes(hello.data.limits));
            this.onReady(link, hello.data);
          } else if (!this.deliver(wire, link, message)) {
            return;
          }
        }
      },
      onClose: (error) => {
        clearTimeout(helloTimer);
        if (this.link !== link) return;
        this.onLost(error?.message ?? 'connection closed');
      },
    });
    this.link = link;
  }

  /** Checks and hands on one message after hello; false when the link was dropped because of it. */
  private deliver(wire: Wire, link: Link, message: unknown): boolean {
    const type = (message as { type?: unknown } | null)?.type;
    try {
      if (type === 'error') {
        // The sidecar says why it is closing (e.g. partialFrameIdleMs): that reason is the disconnect's.
        const { error } = wire.ConnectionErrorSchema.check(message, 'connection error');
        this.drop(link, `${error.code}: ${error.message}`);
        return false;
      }
      if (type === 'event') this.emit('message', { kind: 'event', message: wire.WatchEventSchema.check(message, 'watch event') });
      else if (type === 'progress') this.emit('message', { kind: 'progress', message: wire.WatchProgressSchema.check(message, 'watch progress') });
      else this.emit('message', { kind: 'response', message: wire.ResponseSchema.check(message, 'response') });
      return this.link === link;
    } catch (error) {
      const reason = error instanceof wire.ShapeError ? `malformed message from sidecar: ${error.message}` : `handling a message from sidecar failed: ${(error as Error).message}`;
      this.drop(link, reason);
      return false;
    }
  }

  private onReady(link: Link, hello: ServerHello): void {
    if (this.link !== link || this.state === 'closed') return;
    this.hello = hello;
    this.state = 'connected';
    this.attempt = 0;
    this.lastError = undefined;
    this.missedBeats = 0;
    this.startHeartbeat();
    this.emitStatus({ type: 'connected', epoch: hello.epoch, revision: hello.revision });
    this.emit('ready', hello);
  }

  private drop(link: Link, reason: string): void {
    if (this.link !== link) return;
    // Forgotten first: the close below reports back through onClose, which must not start a second dial loop.
    this.link = undefined;
    link.close();
    this.onLost(reason);
  }

  private onLost(reason: string): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.link = undefined;
    this.lastError = reason;
    clearInterval(this.heartbeatTimer);
    if (wasConnected) {
      this.emitStatus({ type: 'disconnected', error: reason });
      this.emit('lost', reason);
    }
    if (this.attempt >= this.options.reconnect.maxAttempts) {
      this.close(`gave up after ${this.attempt} reconnect attempts: ${reason}`);
      return;
    }
    this.state = 'reconnecting';
    const delayMs = reconnectDelay(this.attempt, this.options.reconnect);
    this.emitStatus({ type: 'reconnecting', attempt: this.attempt + 1, delayMs });
    this.attempt++;
    this.retryTimer = setTimeout(() => this.open(), delayMs);
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    const beat = this.options.heartbeatMs;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastTraffic < beat) return;
      const link = this.link;
      void this.ping().then((answered) => {
        if (answered) {
          this.missedBeats = 0;
          return;
        }
        if (++this.missedBeats >= 2 && link !== undefined) this.drop(link, 'two heartbeats missed');
      });
    }, beat);
    this.heartbeatTimer.unref();
  }

  private emitStatus(event: StatusEvent): void {
    this.emit('status', event);
  }
}

export { DEFAULT_RECONNECT_POLICY };

/** For sizeOf's JSON: a BigInt counts as its digits, a Symbol as nothing. */
function measurable(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'symbol') return undefined;
  return value;
}
