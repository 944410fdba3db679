// One client connection: frames in, hello first, then requests answered one
// response each. Every limit that concerns a connection is enforced here, at
// the earliest byte it can be: frame size (on the length prefix), hello
// deadline, partial-frame idle time, requests in flight, outbound buffer
// (answers wait while it is full; unasked events past it cut the reader off),
// the share of the global outbound budget, and the idle timeout.
import {
  ClientHelloSchema,
  type ClientHello,
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
} from '../../protocol/index.js';
import { AFTER_SEND, type HandlerResult, type RequestOrigin } from './handlers.js';
import type { EventCounters } from '../ops/event-counters.js';
import type { Logger } from '../ops/logger.js';
import type { OutboundBudget, OutboundMember } from './outbound-budget.js';
import type { WatchSink } from '../watch/watch-hub.js';
import type { Connection, ConnectionHandlers } from './transport.js';

/** What a session needs from the sidecar. */
export interface SessionHost {
  readonly limits: Limits;
  readonly log: Logger;
  serverHello(): ServerHello;
  /** Runs one request; resolves with the response fields or rejects with a ProtocolError. */
  handle(request: Request, origin: RequestOrigin): Promise<HandlerResult>;
  /** Bytes queued for all connections together. */
  readonly outbound: OutboundBudget;
  /** Watches the session holds (a watching connection may stay silent for ever). */
  watchCount(session: Session): number;
  /** Where slow readers cut off are counted, for `stats`. */
  readonly counters: Pick<EventCounters, 'slowReaderDisconnects'>;
  /** An answer is held past this turn: the committed document it may point into must not change in place from now on. */
  keepCommitted(): void;
}

export class Session implements ConnectionHandlers, WatchSink, OutboundMember {
  private readonly decoder: FrameDecoder;
  private greeted = false;
  private closed = false;
  private inFlight = 0;
  private helloTimer: NodeJS.Timeout | undefined;
  private partialTimer: NodeJS.Timeout | undefined;
  private drainWaiters: (() => void)[] = [];
  /** Set once the connection is to be refused: nothing it sends is served. */
  private refusing = false;
  /** Answers waiting for the backlog to fall within maxOutboundBytes, oldest first. */
  private held: Record<string, unknown>[] = [];
  /** Bytes written and not yet taken by the peer, as counted in the global budget. */
  pendingBytes = 0;
  behindSince: number | undefined;
  /** When the peer last sent anything, for the idle timeout. */
  private lastHeard = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;
  /** Who is on the other end, from its hello: in every log line about the connection. */
  private client: ClientHello['client'] | undefined;
  private readonly openedAt = Date.now();

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
    host.outbound.join(this);
    this.armIdleTimer(host.limits.idleTimeoutMs);
  }

  /**
   * Refuses the connection with `error` before any hello (e.g. too many connections), when
   * `schedule` runs the refusal; until then whatever the peer sends is ignored.
   */
  refuse(error: ProtocolError, schedule: (refusal: () => void) => void = (refusal) => refusal()): void {
    this.refusing = true;
    schedule(() => this.fail(error));
  }

  onData(data: Buffer): void {
    if (this.closed || this.refusing) return;
    this.lastHeard = Date.now();
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

  /**
   * Sends what is queued and the held answers that fit within maxOutboundBytes, then closes. Answers
   * beyond the bound are dropped with the connection (the client retries its reads elsewhere): encoding
   * every held answer at once would cost maxInFlightPerConnection documents per connection.
   */
  end(): void {
    const dropped = this.sendHeld();
    if (dropped > 0) this.host.log.warn({ client: this.client, dropped }, 'closing a connection with answers its reader has not taken; they are dropped with it');
    this.held = [];
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
    this.client = hello.data.client;
    this.host.log.debug({ client: this.client }, 'connection opened');
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
        if (!(error instanceof ProtocolError)) this.host.log.error({ client: this.client, err: error, op: request.op }, 'request failed unexpectedly');
        this.complete({ id: request.id, ok: false, error: asProtocolError(error).toWire() });
      },
    );
  }

  /** Answers a dispatched request. */
  private complete(response: Record<string, unknown>): void {
    this.inFlight--;
    this.answer(response);
    if (this.inFlight === 0) for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /** Answers a request that was refused before dispatch. */
  private respondError(id: number, error: ProtocolError): void {
    this.answer({ id, ok: false, error: error.toWire() });
  }

  /**
   * Sends an answer, or holds it while the backlog is over maxOutboundBytes: a client that asked for
   * several large values at once is not a slow reader. Held answers stay unencoded (they point into
   * committed state, kept as it is: holding them costs next to nothing); more of them than
   * maxInFlightPerConnection means the peer is not reading, and it is cut off.
   */
  private answer(message: Record<string, unknown>): void {
    if (this.closed) return;
    const { maxOutboundBytes, maxInFlightPerConnection } = this.host.limits;
    if (this.held.length === 0 && this.connection.writableLength <= maxOutboundBytes) {
      this.write(encodeMessage(message));
      return;
    }
    if (this.held.length >= maxInFlightPerConnection) {
      this.cutOff(`more than maxInFlightPerConnection ${maxInFlightPerConnection} answers held for a reader over maxOutboundBytes`);
      return;
    }
    this.host.keepCommitted();
    this.held.push(message);
  }

  /** Writes one frame, counted in the global budget until the peer has taken it. */
  private write(frame: Buffer): void {
    const bytes = frame.length;
    this.connection.write(frame, () => this.flushed(bytes));
    if (this.closed) return;
    this.pendingBytes += bytes;
    this.behindSince ??= Date.now();
    this.host.outbound.grew(bytes);
  }

  /** A write left for the peer: send held answers while the backlog is within the limit. */
  private flushed(bytes: number): void {
    if (this.closed) return;
    this.pendingBytes -= bytes;
    this.host.outbound.shrank(bytes);
    if (this.pendingBytes === 0) this.behindSince = undefined;
    this.sendHeld();
  }

  /** Sends held answers, oldest first, while the backlog is within maxOutboundBytes; returns how many are left. */
  private sendHeld(): number {
    while (!this.closed && this.held.length > 0 && this.connection.writableLength <= this.host.limits.maxOutboundBytes) {
      this.write(encodeMessage(this.held.shift()));
    }
    return this.held.length;
  }

  /** A message the sidecar sends unasked (watch events). */
  push(message: Record<string, unknown>): void {
    if (this.closed) return;
    this.pushFrame(encodeMessage(message));
  }

  /** An already encoded frame the sidecar sends unasked. */
  pushFrame(frame: Buffer): void {
    if (this.closed) return;
    // Events are not asked for: a reader that falls behind on them would grow our memory without bound.
    // Behind held answers they would also arrive out of order, so a reader with any held is behind too.
    const queued = this.connection.writableLength;
    if (this.held.length > 0 || (queued > 0 && queued + frame.length > this.host.limits.maxOutboundBytes)) {
      this.cutOff('a watch event would pass maxOutboundBytes');
      return;
    }
    this.write(frame);
  }

  /** Frames of the session itself (hello, a connection error): small, and never held. */
  private send(message: unknown): void {
    if (this.closed) return;
    this.write(encodeMessage(message));
  }

  /** Disconnects a reader too slow to keep; its client resumes by revision after reconnecting. */
  cutOff(reason: string): void {
    if (this.closed) return;
    this.host.log.warn({ client: this.client, queued: this.connection.writableLength, held: this.held.length }, `closing a connection whose reader is too slow: ${reason}`);
    this.host.counters.slowReaderDisconnects++;
    this.held = [];
    this.connection.destroy();
    this.finish();
  }

  /** Sends a connection-level error, then closes. */
  private fail(error: ProtocolError): void {
    if (this.closed) return;
    const wire: WireError = error.toWire();
    this.send({ type: 'error', error: wire });
    // A refused connection (too many) says so at info: a flood of them must not flood the log with warnings; `stats` counts them.
    this.host.log[this.refusing ? 'info' : 'warn']({ client: this.client, code: error.code, reason: error.message }, 'closing connection after a protocol error');
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

  /**
   * Closes a connection that holds no watch and has sent nothing for idleTimeoutMs (a live client
   * pings when idle). The timer is re-armed for what is left rather than reset on every frame.
   */
  private armIdleTimer(delayMs: number): void {
    this.idleTimer = setTimeout(() => {
      const idleMs = this.host.limits.idleTimeoutMs;
      const quietFor = Date.now() - this.lastHeard;
      if (quietFor < idleMs) this.armIdleTimer(idleMs - quietFor);
      else if (this.host.watchCount(this) > 0) this.armIdleTimer(idleMs);
      else {
        this.fail(
          new ProtocolError(ErrorCode.LIMIT_EXCEEDED, `the connection sent nothing for ${idleMs} ms and holds no watch (idleTimeoutMs)`, {
            limit: 'idleTimeoutMs',
            max: idleMs,
          }),
        );
      }
    }, delayMs);
    this.idleTimer.unref();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.client !== undefined) this.host.log.debug({ client: this.client, openMs: Date.now() - this.openedAt }, 'connection closed');
    this.host.outbound.leave(this);
    this.pendingBytes = 0;
    clearTimeout(this.helloTimer);
    clearTimeout(this.partialTimer);
    clearTimeout(this.idleTimer);
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
