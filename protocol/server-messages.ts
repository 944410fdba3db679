// Everything the sidecar sends, as shapes (protocol/shape.ts) with the types
// derived from them: the hello, each op's result, watch pushes, errors. The
// client checks each message with these before using it; the sidecar's
// handlers are typed by the same results (protocol/operations.ts).
import { ERROR_CODES } from './errors.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import * as s from './shape.js';

/** The protocol both sides speak; a hello with another one is refused UNSUPPORTED_VERSION. */
export const PROTOCOL_VERSION = 1;

const revision = s.count;

// ---- handshake ---------------------------------------------------------------

/** Every limit the sidecar announces: the keys of DEFAULT_LIMITS, each a number. */
export const LimitsSchema = s.object(Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((key) => [key, s.number])) as Record<keyof Limits, s.Shape<number>>);

export const ServerHelloSchema = s.object({
  type: s.literal('hello'),
  protocol: s.integer,
  server: s.object({ version: s.string, pid: s.integer }),
  epoch: s.string,
  revision,
  limits: LimitsSchema,
  /** Hash of the schema the sidecar enforces (docs/protocol.md, "Schema hash"); absent without a schema. */
  schemaHash: s.optional(s.string),
});
export type ServerHello = s.Infer<typeof ServerHelloSchema>;

// ---- results -----------------------------------------------------------------

/** `{epoch, revision}` carried by every read and write result. */
const position = { epoch: s.string, revision };

export const PositionResultSchema = s.object(position);
/** `layer`: where the value comes from, when the sidecar serves layers (docs/operations.md, layers). */
export const GetResultSchema = s.object({ ...position, value: s.unknown, modRevision: revision, layer: s.optional(s.oneOf(['default', 'fleet', 'system', 'user'])) });
const writeResults = s.array(s.object({ modRevision: revision, existed: s.boolean }));
export const WriteResultSchema = s.object({ ...position, results: writeResults });
/** One kept backup: `n` 1 is the newest; `path` is for the operator's eyes (clients restore by number, never open it). */
export const BackupEntrySchema = s.object({ n: s.integer, name: s.string, path: s.string, bytes: s.integer, modified: s.string });
export type BackupEntry = s.Infer<typeof BackupEntrySchema>;
export const BackupsResultSchema = s.object({ ...position, backups: s.array(BackupEntrySchema) });
export const RestoreResultSchema = s.object({ ...position, restored: s.string, results: writeResults });

export const HealthStatusSchema = s.oneOf(['ok', 'degraded', 'failing']);
export const HealthResultSchema = s.object({
  ...position,
  status: HealthStatusSchema,
  reasons: s.array(s.string),
  configPath: s.string,
  fileValid: s.boolean,
  memoryEqualsDisk: s.boolean,
  lastWriteAt: s.nullable(s.string),
  writeErrors: s.integer,
  lastWriteError: s.nullable(s.string),
  readOnly: s.boolean,
});
export type HealthResult = s.Infer<typeof HealthResultSchema>;

/** `info` and `stats`: a position and open facts (their fields grow with the sidecar; tools print them). */
export const FactsResultSchema = s.object(position, { open: true });

/** Answer to `logLevel`: the level in force now, and the one before (the same when only asked). */
export const LogLevelResultSchema = s.object({ ...position, level: s.string, previous: s.string });

/** Why a watch could not be resumed and comes with a fresh snapshot instead. */
export const ResyncReasonSchema = s.oneOf(['compacted', 'epoch']);

/** Answer to `watch`: created at `revision`; a snapshot of the path at it when asked for, or when resuming failed. */
export const WatchResultSchema = s.object({
  ...position,
  watchId: s.integer,
  snapshot: s.optional(s.object({ value: s.unknown, exists: s.boolean })),
  resync: s.optional(ResyncReasonSchema),
});

// ---- responses ---------------------------------------------------------------

export const WireErrorSchema = s.object({
  code: s.oneOf(ERROR_CODES),
  message: s.string,
  details: s.optional(s.record(s.unknown)),
});
export type WireError = s.Infer<typeof WireErrorSchema>;

/** A response's envelope; the result's own fields sit beside `id` and `ok`. */
export const OkResponseSchema = s.object({ id: s.count, ok: s.literal(true) }, { open: true });
export const ErrorResponseSchema = s.object({ id: s.count, ok: s.literal(false), error: WireErrorSchema });
export const ResponseSchema = s.union(OkResponseSchema, ErrorResponseSchema);
export type Response = s.Infer<typeof ResponseSchema>;

// ---- watch pushes -------------------------------------------------------------

export const ChangeSchema = s.union(
  s.object({ path: s.array(s.string), value: s.unknown }),
  s.object({ path: s.array(s.string), deleted: s.literal(true) }),
);
export type WireChange = s.Infer<typeof ChangeSchema>;

/** One committed revision touching a watched path: all its changes under that path. */
export const WatchEventSchema = s.object({
  type: s.literal('event'),
  watchId: s.integer,
  revision,
  source: s.oneOf(['client', 'file', 'reload', 'migration', 'fleet', 'system']),
  changes: s.array(ChangeSchema),
});
export type WatchEvent = s.Infer<typeof WatchEventSchema>;

/** Sent on a watch idle for a while: everything up to `revision` has been delivered (nothing touched the path). */
export const WatchProgressSchema = s.object({ type: s.literal('progress'), watchId: s.integer, revision });
export type WatchProgress = s.Infer<typeof WatchProgressSchema>;

/** A connection-level error (no request id): sent before the sidecar closes the connection. */
export const ConnectionErrorSchema = s.object({ type: s.literal('error'), error: WireErrorSchema });
export type ConnectionError = s.Infer<typeof ConnectionErrorSchema>;

/** Everything the sidecar may send after hello. */
export const ServerMessageSchema = s.union(ResponseSchema, WatchEventSchema, WatchProgressSchema, ConnectionErrorSchema);
