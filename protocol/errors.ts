// Wire error codes: stable strings both sides agree on, and the one error
// class that carries them. Client-only codes live in client/client-errors.ts.

export const ErrorCode = {
  /** The request was well-formed msgpack but not a valid request (bad path, bad field). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The byte stream broke the protocol (bad frame, bad msgpack, hello missing). */
  PROTOCOL: 'PROTOCOL',
  /** The client's hello asked for a protocol version this sidecar does not speak. */
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  /** A frame's declared length is above the frame limit. */
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** A configured limit (depth, array length, document size, connections...) was exceeded. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The write would leave the document invalid against its schema. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** An `ifModRevision` precondition did not hold; nothing was applied. */
  CONFLICT: 'CONFLICT',
  /** The path does not exist. */
  NOT_FOUND: 'NOT_FOUND',
  /** The file could not be written durably; nothing was applied. */
  WRITE_FAILED: 'WRITE_FAILED',
  /**
   * A write asked to wait for the config file (`waitForFile`) is committed (durable in the journal and
   * served) but the file could not be rewritten to hold it yet; `details.revision` names it.
   */
  FILE_LAGGING: 'FILE_LAGGING',
  /** The path is locked by an administrator (`--locks`): its value comes from a layer below the file. */
  LOCKED: 'LOCKED',
  /** The sidecar serves this file read-only. */
  READ_ONLY: 'READ_ONLY',
  /** The sidecar is stopping and takes no new work. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** A bug or an unexpected failure inside the sidecar. */
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/** An error with a stable wire code, a readable message and optional structured details. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  /** The shape sent on the wire in `{ok: false, error}`. */
  toWire(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}
