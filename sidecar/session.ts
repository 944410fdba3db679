// One client connection: frames in, hello first, then requests answered one
// response each. Every limit that concerns a connection is enforced here, at
// the earliest byte it can be: frame size (on the length prefix), hello
// deadline, partial-frame idle time, requests in flight, outbound buffer.
import {
  ClientHelloSchema,
  DecodeError,
  ErrorCode,
  FrameDecoder,
  PROTOCOL_VERSION,
  ProtocolError,
  RequestSchema,
  decodeValue,
  encodeMessage,
  type Limits,
  type Request,
  type ServerHello,
  type WireError,
} from '../protocol/index.js';
import { AFTER_SEND, type HandlerResult, type RequestOrigin } from './handlers.js';
import type { Logger } from './logger.js';
import type { WatchSink } from './watch-hub.js';
import type { Connection, ConnectionHandlers } from './transport.js';

/** What a session needs from the sidecar. */
export interface SessionHost {
  readonly limits: Limits;
  readonly log: Logger;
  serverHello(): ServerHello;
  /** Runs one request; resolves with the response fields or rejects with a ProtocolError. */
  handle(request: Request, origin: RequestOrigin): Promise<HandlerResult>;
}

export class Session implements ConnectionHandlers, WatchSink {
  private readonly decoder: FrameDecoder;
  private greeted = false;
  private closed = false;
  private inFlight = 0;
  private helloTimer: NodeJS.Timeout | undefined;
  private partialTimer: NodeJS.Timeout | undefined;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly connection: Connection,
    private readonly host: SessionHost,
    private readonly onEnd: (session: Session) => void,
  ) {
    this.decoder = new FrameDecoder(host.limits.maxFrameBytes);
    const helloMs = host.limits.helloTimeoutMs;
    this.helloTimer = setTimeout(
      () =>
        this.fail(
          new ProtocolError(ErrorCode.PROTOCOL, `no hello within ${helloMs} ms (helloTimeoutMs)`, { limit: 'helloTimeoutMs', max: helloMs }),
        ),
      helloMs,
    );
  }

  /** Refuses the connection with `error` before any hello (e.g. too many connections). */
  refuse(error: ProtocolError): void {
    this.fail(error);
  }

  onData(data: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(data);
    } catch (error) {
      this.fail(asProtocolError(error));
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      this.onFrame(frame);
    }
    // The idle clock measures time without progress: a completed frame restarts it.
    if (frames.length > 0) this.clearPartialTimer();
    this.watchPartialFrame();
  }

  onClose(): void {
    this.finish();
  }

  /** Resolves once every request already received has been answered. */
  async drained(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Sends what is queued and closes. */
  end(): void {
    this.connection.end();
    this.finish();
  }

  private onFrame(frame: Buffer): void {
    let message: unknown;
    try {
      message = decodeValue(frame, this.host.limits);
    } catch (error) {
      const requestId = error instanceof DecodeError ? error.requestId : undefined;
      // The frame boundary is intact: answer the request it carried when its id is known.
      if (this.greeted && requestId !== undefined) this.respondError(requestId, asProtocolError(error));
      else this.fail(asProtocolError(error));
      return;
    }
    if (!this.greeted) this.onHello(message);
    else this.onRequest(message, frame.length);
  }

  private onHello(message: unknown): void {
    const hello = ClientHelloSchema.safeParse(message);
    if (!hello.success) {
      this.fail(new ProtocolError(ErrorCode.PROTOCOL, `the first frame must be hello: ${hello.error.issues.map(describeIssue).join('; ')}`));
      return;
    }
    if (hello.data.protocol !== PROTOCOL_VERSION) {
      this.fail(
        new ProtocolError(ErrorCode.UNSUPPORTED_VERSION, `protocol ${hello.data.protocol} is not supported; this sidecar speaks ${PROTOCOL_VERSION}`, {
          supported: [PROTOCOL_VERSION],
        }),
      );
      return;
    }
    clearTimeout(this.helloTimer);
    this.greeted = true;
    this.send(this.host.serverHello());
  }

  private onRequest(message: unknown, frameBytes: number): void {
    const parsed = RequestSchema.safeParse(message);
    if (!parsed.success) {
      const id = (message as { id?: unknown } | null)?.id;
      const error = new ProtocolError(ErrorCode.BAD_REQUEST, `invalid request: ${parsed.error.issues.map(describeIssue).join('; ')}`, {
        issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      });
      if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0) this.respondError(id, error);
      else this.fail(error);
      return;
    }
    const request = parsed.data;
    if (this.inFlight >= this.host.limits.maxInFlightPerConnection) {
      this.respondError(
        request.id,
        new ProtocolError(ErrorCode.LIMIT_EXCEEDED, `more than maxInFlightPerConnection ${this.host.limits.maxInFlightPerConnection} requests in flight`, {
          limit: 'maxInFlightPerConnection',
          max: this.host.limits.maxInFlightPerConnection,
        }),
      );
      return;
    }
    this.inFlight++;
    this.host.handle(request, { sink: this, frameBytes }).then(
      (result) => {
        this.complete({ ...result, id: request.id, ok: true });
        result[AFTER_SEND]?.();
      },
      (error: unknown) => {
        if (!(error instanceof ProtocolError)) this.host.log.error({ err: error, op: request.op }, 'request failed unexpectedly');
        this.complete({ id: request.id, ok: false, error: asProtocolError(error).toWire() });
      },
    );
  }

  /** Answers a dispatched request. */
  private complete(response: Record<string, unknown>): void {
    this.inFlight--;
    this.send(response);
    if (this.inFlight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /** Answers a request that was refused before dispatch. */
  private respondError(id: number, error: ProtocolError): void {
    this.send({ id, ok: false, error: error.toWire() });
  }

  /** A message the sidecar sends unasked (watch events). */
  push(message: Record<string, unknown>): void {
    this.send(message);
  }

  /** An already encoded frame the sidecar sends unasked. */
  pushFrame(frame: Buffer): void {
    this.sendFrame(frame);
  }

  private send(message: unknown): void {
    if (this.closed) return;
    this.sendFrame(encodeMessage(message));
  }

  private sendFrame(frame: Buffer): void {
    if (this.closed) return;
    // One response may be large (a get of a big document); what is bounded is the backlog behind it.
    const queued = this.connection.writableLength;
    if (queued > 0 && queued + frame.length > this.host.limits.maxOutboundBytes) {
      // A reader this slow would grow our memory without bound; its client resumes after reconnecting.
      this.host.log.warn({ queued: this.connection.writableLength }, 'closing a connection whose reader is too slow (maxOutboundBytes)');
      this.connection.destroy();
      this.finish();
      return;
    }
    this.connection.write(frame);
  }

  /** Sends a connection-level error, then closes. */
  private fail(error: ProtocolError): void {
    if (this.closed) return;
    const wire: WireError = error.toWire();
    this.send({ type: 'error', error: wire });
    this.host.log.info({ code: error.code, reason: error.message }, 'closing connection after a protocol error');
    this.end();
  }

  private clearPartialTimer(): void {
    clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
  }

  private watchPartialFrame(): void {
    if (!this.decoder.hasPartialFrame) {
      this.clearPartialTimer();
      return;
    }
    this.partialTimer ??= setTimeout(() => {
      const ms = this.host.limits.partialFrameIdleMs;
      this.fail(
        new ProtocolError(ErrorCode.LIMIT_EXCEEDED, `a partial frame was left unfinished for ${ms} ms (partialFrameIdleMs)`, {
          limit: 'partialFrameIdleMs',
          max: ms,
        }),
      );
    }, this.host.limits.partialFrameIdleMs);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    clearTimeout(this.partialTimer);
    for (const wake of this.drainWaiters.splice(0)) wake();
    this.onEnd(this);
  }
}

function asProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  return new ProtocolError(ErrorCode.INTERNAL, error instanceof Error ? error.message : String(error));
}

function describeIssue(issue: { path: PropertyKey[]; message: string }): string {
  return issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message;
}
