// Errors a client call rejects with: the sidecar's wire codes, plus codes that
// only the client can produce (they never cross the wire).
import type { ErrorCode } from '../protocol/errors.js';
import type { WireError } from '../protocol/server-messages.js';

export const ClientErrorCode = {
  /** The call's deadline passed. If it was a write already sent, it may still have been applied. */
  TIMEOUT: 'TIMEOUT',
  /** A write was sent and the connection dropped before its answer: it may or may not have been applied. */
  OUTCOME_UNKNOWN: 'OUTCOME_UNKNOWN',
  /** Too many calls (or bytes) queued while disconnected. */
  QUEUE_FULL: 'QUEUE_FULL',
  /** The client was closed. */
  CLOSED: 'CLOSED',
  /** The deadline passed while no sidecar could be reached. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The call was aborted through its AbortSignal before it completed. */
  ABORTED: 'ABORTED',
  /** The socket or its directory belongs to someone other than the expected user, or others can write the directory: nothing was sent. */
  UNTRUSTED_SOCKET: 'UNTRUSTED_SOCKET',
  /** The client was given a schema and the sidecar serves another one (or none): nothing was sent. */
  SCHEMA_MISMATCH: 'SCHEMA_MISMATCH',
  /** A replica read before the replica's first snapshot arrived (`await client.synced()` first). */
  NOT_READY: 'NOT_READY',
  /** A replica read while the replica has not heard from the sidecar for longer than `maxStalenessMs`. */
  STALE: 'STALE',
  /** A synchronous read of a path outside the replicated prefix. */
  NOT_REPLICATED: 'NOT_REPLICATED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Every code a client call can reject with. */
export type AnyErrorCode = ErrorCode | ClientErrorCode;

export class ConfigSidecarError extends Error {
  override readonly name = 'ConfigSidecarError';
  constructor(
    readonly code: AnyErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  static fromWire(error: WireError): ConfigSidecarError {
    return new ConfigSidecarError(error.code, error.message, error.details);
  }
}
