// Every size and count the sidecar enforces, with its default, in one place.
// The sidecar reports the values in force in its hello, so clients can size
// their own decoders and check writes before sending them.

export interface Limits {
  /** Largest request frame (msgpack payload, after the 4-byte prefix) the sidecar accepts. */
  maxFrameBytes: number;
  /** Largest serialised document the sidecar will hold or write. */
  maxDocumentBytes: number;
  /** Deepest nesting of arrays/maps in any message or value. */
  maxDepth: number;
  /** Most elements in one array (also applied to map entries). */
  maxArrayLength: number;
  /** Longest string, in UTF-8 bytes. */
  maxStringBytes: number;
  /** Most client connections at once. */
  maxConnections: number;
  /** Most requests awaiting a response on one connection. */
  maxInFlightPerConnection: number;
  /** Most watches on one connection. */
  maxWatchesPerConnection: number;
  /** Bytes queued for a connection before it is judged too slow and closed. */
  maxOutboundBytes: number;
  /** How long a partial frame may sit unfinished before the connection is closed. */
  partialFrameIdleMs: number;
  /** How long a new connection has to send its hello. */
  helloTimeoutMs: number;
  /** Longest watch path, in UTF-8 bytes of its segments (a watch keeps its path for its whole life). */
  maxWatchPathBytes: number;
  /** Bytes queued for all connections together; past it the slowest readers are closed first. */
  maxTotalOutboundBytes: number;
  /** How long a connection that holds no watch may send nothing before it is closed. */
  idleTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: 1024 * 1024,
  maxDocumentBytes: 16 * 1024 * 1024,
  maxDepth: 64,
  maxArrayLength: 100_000,
  maxStringBytes: 1024 * 1024,
  maxConnections: 1024,
  maxInFlightPerConnection: 1024,
  maxWatchesPerConnection: 256,
  maxOutboundBytes: 8 * 1024 * 1024,
  partialFrameIdleMs: 10_000,
  helloTimeoutMs: 5_000,
  maxWatchPathBytes: 4096,
  maxTotalOutboundBytes: 128 * 1024 * 1024,
  idleTimeoutMs: 600_000,
});

/**
 * Largest frame a client accepts from the sidecar: a `get` of the whole
 * document may be as large as the document limit, plus the envelope.
 */
export function maxResponseFrameBytes(limits: Limits): number {
  return Math.max(limits.maxFrameBytes, limits.maxDocumentBytes) + 64 * 1024;
}
