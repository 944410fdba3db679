// The client's connection state machine: dial, hello, serve, and on any loss
// back to dialling after the policy's delay, until closed. One dial loop at a
// time (a second failure never starts a second loop). A heartbeat ping goes
// out after `heartbeatMs` without traffic; two missed and the link is dropped.
import { EventEmitter } from 'node:events';
import {
  ClientHelloSchema,
  ConnectionErrorSchema,
  DEFAULT_LIMITS,
  ErrorCode,
  FrameDecoder,
  PROTOCOL_VERSION,
  ServerHelloSchema,
  decodeValue,
  encodeMessage,
  maxResponseFrameBytes,
  type Limits,
  type ServerHello,
} from '../protocol/index.js';
import { ClientErrorCode, ConfigSidecarError } from './client-errors.js';
import { DEFAULT_RECONNECT_POLICY, reconnectDelay, type ConnectionState, type ReconnectPolicy, type StatusEvent } from './reconnect.js';
import { checkSocketTrust } from './socket-trust.js';
import { dial, type Link } from './transport.js';

const HELLO_TIMEOUT_MS = 5000;

export interface ConnectionOptions {
  socketPath: string;
  clientName: string;
  heartbeatMs: number;
  reconnect: ReconnectPolicy;
  /** The uid the socket and its directory must belong to (besides root), checked before every dial. */
  expectedUid(): Promise<number>;
}

export interface ConnectionEvents {
  /** A decoded message other than hello (responses, connection errors). */
  message: [message: Record<string, unknown>];
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
    if (this.state !== 'connected' || this.link === undefined) return false;
    const frame = encodeMessage(message);
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

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    this.link?.close();
    this.link = undefined;
    this.emitStatus({ type: 'closed' });
  }

  /** Checks the socket, then dials it; an untrusted socket counts as a failed attempt. */
  private open(): void {
    const attempt = this.attempt;
    this.options
      .expectedUid()
      .then((uid) => checkSocketTrust(this.options.socketPath, uid))
      .then(
        () => {
          this.untrusted = undefined;
          if (this.state !== 'closed') this.dial();
        },
        (error: unknown) => {
          if (this.state === 'closed' || this.attempt !== attempt) return;
          const refusal = error instanceof ConfigSidecarError ? error : new ConfigSidecarError(ClientErrorCode.UNTRUSTED_SOCKET, `cannot check ${this.options.socketPath}: ${(error as Error).message}`);
          this.untrusted = refusal;
          this.emit('untrusted', refusal);
          this.onLost(refusal.message);
        },
      );
  }

  private dial(): void {
    let greeted = false;
    // A sidecar that accepts but never says hello (hung, or not a sidecar) must not hold the client forever.
    const helloTimer = setTimeout(() => this.drop(link, `no hello within ${HELLO_TIMEOUT_MS} ms`), HELLO_TIMEOUT_MS);
    const decoder = new FrameDecoder(maxResponseFrameBytes(DEFAULT_LIMITS));
    const link: Link = dial(this.options.socketPath, {
      onOpen: () => {
        const hello = { type: 'hello', protocol: PROTOCOL_VERSION, client: { name: this.options.clientName, pid: process.pid } };
        link.send(encodeMessage(ClientHelloSchema.parse(hello)));
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
            message = decodeValue(frame, { maxDepth: this.limits.maxDepth + 8, maxArrayLength: 2 ** 32, maxStringBytes: 2 ** 32 }, { exact: false });
          } catch (error) {
            this.drop(link, `bad message from sidecar: ${(error as Error).message}`);
            return;
          }
          if (!greeted) {
            const hello = ServerHelloSchema.safeParse(message);
            if (!hello.success) {
              const refusal = ConnectionErrorSchema.safeParse(message);
              this.drop(link, refusal.success ? `${refusal.data.error.code}: ${refusal.data.error.message}` : 'the sidecar did not answer hello');
              return;
            }
            greeted = true;
            clearTimeout(helloTimer);
            // A sidecar allowing larger documents sends larger answers.
            decoder.setMaxFrameBytes(maxResponseFrameBytes(hello.data.limits));
            this.onReady(link, hello.data);
          } else {
            this.emit('message', message as Record<string, unknown>);
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
