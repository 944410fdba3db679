// The pending-call table. Every call settles exactly once: with its response,
// or at its deadline (counted from the call, queue time included), or on
// abort, or when the client closes. A call that timed out or was aborted
// while queued is removed and never sent. When the connection drops, reads in
// flight are sent again on the next connection; writes in flight fail with
// OUTCOME_UNKNOWN, because they may have been applied (never retried silently).
// Calls go out in the order they were made: a call may be held in its place
// in the queue until a check passes (a typed client's local validation), and
// the calls behind it wait; its deadline, signal and close apply meanwhile.
import { ErrorCode } from '../protocol/errors.js';
import type { Response } from '../protocol/server-messages.js';
import { ClientErrorCode, ConfigSidecarError } from './client-errors.js';

export interface CallOptions {
  /** Deadline in ms from the call (default 5000). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Call<Answer> {
  request: Record<string, unknown> & { op: string };
  /** Waiting in its place in the queue until its check passes: nothing behind it is sent either. */
  held: boolean;
  /** Sent on some connection (a read put back by a disconnect stays in the queue whatever its bound). */
  wasSent: boolean;
  isWrite: boolean;
  bytes: number;
  id: number | undefined; // set while sent
  settled: boolean;
  timer: NodeJS.Timeout;
  resolve(response: Answer): void;
  reject(error: Error): void;
  cleanup(): void;
}

export interface CallTableOptions {
  defaultTimeoutMs: number;
  maxQueuedCalls: number;
  maxQueuedBytes: number;
  /** Puts one request on the wire with this id: false if not connected; throws for a request that can never be sent. */
  send(request: Record<string, unknown>, id: number): boolean;
  /** Approximate size of a request, for the queue bound; throws for one that can never be encoded. */
  sizeOf(request: Record<string, unknown>): number;
  /** Why calls can't be sent now (for UNAVAILABLE), or undefined when connected. */
  unavailableReason(): string | undefined;
  /** Why a call that cannot be sent now must fail at once instead of waiting (an untrusted socket), if so. */
  refusal?(): Error | undefined;
}

const WRITE_OPS = new Set(['set', 'delete', 'batch', 'restore']);
/** Ops that belong to one connection (watch ids): re-established by their owner, never re-sent. */
const CONNECTION_BOUND_OPS = new Set(['watch', 'unwatch']);
/** The longest deadline a timer can hold (about 24.8 days); a longer one, Infinity included, is held to it. */
const MAX_DEADLINE_MS = 2 ** 31 - 1;

/** Calls in flight and queued; `Answer` is what the connection hands back (a checked response). */
export class CallTable<Answer = Response> {
  private nextId = 1;
  private readonly queued: Call<Answer>[] = [];
  private queuedBytes = 0;
  private readonly inFlight = new Map<number, Call<Answer>>();
  private closedError: Error | undefined;
  /** Set while sendQueued() runs: a settle() inside it must not start a second pass. */
  private sending = false;

  constructor(private readonly options: CallTableOptions) {}

  /** Number of calls waiting for a connection and in flight. */
  get size(): { queued: number; inFlight: number } {
    return { queued: this.queued.length, inFlight: this.inFlight.size };
  }

  /**
   * Makes a call. With `check`, the call takes its place in the queue at once and is held there
   * until `check` resolves (then sent in turn) or rejects (then it fails with that error alone).
   * `ahead`: sent at once when connected, past held calls (the heartbeat, which says nothing about order).
   */
  call(request: Record<string, unknown> & { op: string }, options: CallOptions = {}, { check, ahead = false }: { check?: Promise<void>; ahead?: boolean } = {}): Promise<Answer> {
    // A call refused below has nowhere to take its check's outcome; one that is made gets it through the handlers further down.
    check?.catch(() => undefined);
    const signal = options.signal ?? undefined;
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
      return Promise.reject(new TypeError(`timeoutMs must be a number of milliseconds >= 0, got ${typeof timeoutMs} ${describe(timeoutMs)}`));
    }
    if (signal !== undefined && (typeof signal.addEventListener !== 'function' || typeof signal.removeEventListener !== 'function' || typeof signal.aborted !== 'boolean')) {
      return Promise.reject(new TypeError('signal must be an AbortSignal'));
    }
    const refusedAtOnce = this.closedError ?? (signal?.aborted ? abortError(signal) : undefined);
    if (refusedAtOnce !== undefined) return Promise.reject(refusedAtOnce);
    return new Promise((resolve, reject) => {
      const onAbort = () => this.settle(call, undefined, abortError(signal!, call.isWrite && call.id !== undefined));
      const call: Call<Answer> = {
        request,
        held: check !== undefined,
        wasSent: false,
        isWrite: WRITE_OPS.has(request.op),
        bytes: 0, // measured only if the call has to wait in the queue
        id: undefined,
        settled: false,
        timer: setTimeout(() => this.settle(call, undefined, this.deadlineError(call, timeoutMs)), Math.min(timeoutMs, MAX_DEADLINE_MS)),
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // Handled whatever becomes of the call: a check that fails after the call settled changes nothing.
      check?.then(
        () => {
          call.held = false;
          this.sendQueued();
        },
        (error: unknown) => this.settle(call, undefined, error instanceof Error ? error : new Error(describe(error))),
      );
      // Behind anything queued (held calls included): calls go out in the order they were made.
      if (call.held || (this.queued.length > 0 && !ahead) || !this.trySend(call)) {
        const refusal = this.options.refusal?.();
        if (refusal !== undefined) {
          this.settle(call, undefined, refusal);
          return;
        }
        if (!this.measure(call)) return;
        // The bound is for calls waiting for a connection; while connected, calls wait only behind a local check (each with its deadline).
        const connected = this.options.unavailableReason() === undefined;
        if (!connected && (this.queued.length >= this.options.maxQueuedCalls || this.queuedBytes + call.bytes > this.options.maxQueuedBytes)) {
          this.settle(
            call,
            undefined,
            new ConfigSidecarError(
              ClientErrorCode.QUEUE_FULL,
              `not connected and the queue is full (${this.queued.length} calls, ${this.queuedBytes} bytes; limits ${this.options.maxQueuedCalls} calls, ${this.options.maxQueuedBytes} bytes)`,
            ),
          );
          return;
        }
        this.queued.push(call);
        this.queuedBytes += call.bytes;
      }
    });
  }

  /** A response arrived. Unknown ids (calls already settled by deadline or abort) are ignored. */
  onResponse(id: number, response: Answer): void {
    const call = this.inFlight.get(id);
    if (call === undefined) return;
    this.settle(call, response, undefined);
  }

  /** A connection is ready: send everything queued, oldest first. */
  onConnected(): void {
    this.sendQueued();
  }

  /** The connection dropped: reads go back to the front of the queue, writes fail OUTCOME_UNKNOWN. */
  onDisconnected(reason: string): void {
    const retry: Call<Answer>[] = [];
    for (const call of this.inFlight.values()) {
      call.id = undefined;
      if (call.isWrite) {
        this.settle(
          call,
          undefined,
          new ConfigSidecarError(
            ClientErrorCode.OUTCOME_UNKNOWN,
            `the connection dropped (${reason}) after this ${call.request.op} was sent; it may or may not have been applied`,
          ),
        );
      } else if (CONNECTION_BOUND_OPS.has(call.request.op)) {
        this.settle(call, undefined, new ConfigSidecarError(ClientErrorCode.UNAVAILABLE, `the connection dropped (${reason})`));
      } else {
        retry.push(call);
      }
    }
    this.inFlight.clear();
    for (const call of retry.reverse()) {
      if (call.bytes === 0 && !this.measure(call)) continue;
      this.queued.unshift(call);
      this.queuedBytes += call.bytes;
    }
    // Watch requests still queued (behind a local check) belong to the link that dropped, as those in
    // flight do: their owner asks again on the next connect.
    for (const call of this.queued.filter((queued) => CONNECTION_BOUND_OPS.has(queued.request.op))) {
      this.settle(call, undefined, new ConfigSidecarError(ClientErrorCode.UNAVAILABLE, `the connection dropped (${reason})`));
    }
    // Calls that waited behind a local check while connected now wait for a connection: held to the
    // queue's bound as if each were made now, oldest first (reads put back were sent already and stay).
    let calls = 0;
    let bytes = 0;
    for (const call of [...this.queued]) {
      if (call.wasSent || (calls < this.options.maxQueuedCalls && bytes + call.bytes <= this.options.maxQueuedBytes)) {
        calls++;
        bytes += call.bytes;
        continue;
      }
      this.settle(
        call,
        undefined,
        new ConfigSidecarError(
          ClientErrorCode.QUEUE_FULL,
          `the connection dropped (${reason}) and the queue is full (limits ${this.options.maxQueuedCalls} calls, ${this.options.maxQueuedBytes} bytes); this ${call.request.op} was not sent`,
        ),
      );
    }
  }

  /** Measures a call for the queue bound; false when it can never be sent (then it is settled with the reason). */
  private measure(call: Call<Answer>): boolean {
    try {
      call.bytes = this.options.sizeOf(call.request);
      return true;
    } catch (error) {
      this.settle(call, undefined, unsendable(call.request.op, error));
      return false;
    }
  }

  /** Rejects every call waiting for a connection with `error` (calls in flight are not affected). */
  failQueued(error: Error): void {
    for (const call of [...this.queued]) this.settle(call, undefined, error);
  }

  /** Rejects everything pending and every later call with `error`. */
  close(error: Error): void {
    this.closedError = error;
    for (const call of [...this.queued, ...this.inFlight.values()]) this.settle(call, undefined, error);
  }

  /** Sends the queue's head, oldest first, until a held call, or while connected. */
  private sendQueued(): void {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queued.length > 0) {
        const call = this.queued[0]!;
        if (call.held || !this.trySend(call)) return;
        if (this.queued[0] !== call) continue; // refused before sending: settle() already took it out
        this.queued.shift();
        this.queuedBytes -= call.bytes;
      }
    } finally {
      this.sending = false;
    }
  }

  /** False when not connected (the call waits); true when sent, or refused before sending (then settled). */
  private trySend(call: Call<Answer>): boolean {
    const id = this.nextId++;
    let sent: boolean;
    try {
      sent = this.options.send(call.request, id);
    } catch (error) {
      // A request the connection will not send (too large for the sidecar's limits, or a value the
      // codec cannot write) fails alone, with that reason; nothing of it reaches the host process.
      this.settle(call, undefined, error instanceof ConfigSidecarError ? error : unsendable(call.request.op, error));
      return true;
    }
    if (!sent) return false;
    call.wasSent = true;
    call.id = id;
    this.inFlight.set(id, call);
    return true;
  }

  private deadlineError(call: Call<Answer>, timeoutMs: number): ConfigSidecarError {
    const reason = call.id === undefined ? this.options.unavailableReason() : undefined;
    if (reason !== undefined) {
      return new ConfigSidecarError(ClientErrorCode.UNAVAILABLE, `no sidecar answered within ${timeoutMs} ms: ${reason}`);
    }
    const sentWrite = call.isWrite && call.id !== undefined;
    return new ConfigSidecarError(
      ClientErrorCode.TIMEOUT,
      `${call.request.op} timed out after ${timeoutMs} ms${sentWrite ? '; the write was sent and may still be applied' : ''}`,
      { sent: call.id !== undefined },
    );
  }

  private settle(call: Call<Answer>, response: Answer | undefined, error: Error | undefined): void {
    if (call.settled) return;
    call.settled = true;
    clearTimeout(call.timer);
    call.cleanup();
    if (call.id !== undefined) this.inFlight.delete(call.id);
    const index = this.queued.indexOf(call);
    if (index >= 0) {
      this.queued.splice(index, 1);
      this.queuedBytes -= call.bytes;
    }
    if (error !== undefined) call.reject(error);
    else call.resolve(response as Answer);
    // A held head that fails or times out lets the calls behind it go.
    if (index === 0 && this.closedError === undefined) this.sendQueued();
  }
}

/** A request no codec can write (a Symbol, a cycle, a toJSON that throws): BAD_REQUEST, as the sidecar would answer. */
function unsendable(op: string, error: unknown): ConfigSidecarError {
  const reason = error instanceof Error ? error.message : describe(error);
  // The first line: V8's message for a cycle goes on to draw it.
  return new ConfigSidecarError(ErrorCode.BAD_REQUEST, `this ${op} cannot be encoded (${reason.split('\n')[0]}); nothing was sent`, { cause: reason });
}

/** A thrown or given value as text, for a message: whatever it is (String() itself throws for some objects). */
function describe(value: unknown): string {
  try {
    return String(value);
  } catch (notText) {
    return `${Object.prototype.toString.call(value)} (${notText instanceof Error ? notText.message : 'not printable'})`;
  }
}

function abortError(signal: AbortSignal, sentWrite = false): ConfigSidecarError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  const caveat = sentWrite ? '; the write was already sent and may still be applied' : '';
  return new ConfigSidecarError(ClientErrorCode.ABORTED, `the call was aborted: ${reason}${caveat}`, { sent: sentWrite });
}
