// Every message on the wire, as zod schemas; the TypeScript types are derived
// from them and never written twice. Values (`value` fields) are z.unknown():
// the codec has already proved them JSON-compatible and bounded, and walking
// a 16 MiB value again with zod would cost time for nothing.
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';

export const PROTOCOL_VERSION = 1;

const pathSchema = z.union([z.string(), z.array(z.string())]);
const requestId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const revision = z.number().int().nonnegative();

// ---- handshake ---------------------------------------------------------------

export const ClientHelloSchema = z
  .object({
    type: z.literal('hello'),
    protocol: z.number().int(),
    client: z.object({ name: z.string().max(256), pid: z.number().int().nonnegative() }).strict(),
  })
  .strict();
export type ClientHello = z.infer<typeof ClientHelloSchema>;

export const LimitsSchema = z
  .object({
    maxFrameBytes: z.number(),
    maxDocumentBytes: z.number(),
    maxDepth: z.number(),
    maxArrayLength: z.number(),
    maxStringBytes: z.number(),
    maxConnections: z.number(),
    maxInFlightPerConnection: z.number(),
    maxWatchesPerConnection: z.number(),
    maxOutboundBytes: z.number(),
    partialFrameIdleMs: z.number(),
    helloTimeoutMs: z.number(),
    maxWatchPathBytes: z.number(),
    maxTotalOutboundBytes: z.number(),
    idleTimeoutMs: z.number(),
  })
  .strict();

export const ServerHelloSchema = z
  .object({
    type: z.literal('hello'),
    protocol: z.number().int(),
    server: z.object({ version: z.string(), pid: z.number().int() }).strict(),
    epoch: z.string(),
    revision,
    limits: LimitsSchema,
  })
  .strict();
export type ServerHello = z.infer<typeof ServerHelloSchema>;

// ---- requests ----------------------------------------------------------------

const base = { id: requestId };

export const SetOpSchema = z
  .object({ op: z.literal('set'), path: pathSchema, value: z.unknown(), ifModRevision: revision.optional() })
  .strict();
export const DeleteOpSchema = z
  .object({ op: z.literal('delete'), path: pathSchema, ifModRevision: revision.optional() })
  .strict();
export const WriteOpSchema = z.discriminatedUnion('op', [SetOpSchema, DeleteOpSchema]);
export type WriteOp = z.infer<typeof WriteOpSchema>;

export const GetRequestSchema = z.object({ ...base, op: z.literal('get'), path: pathSchema }).strict();
export const SetRequestSchema = SetOpSchema.extend(base).strict();
export const DeleteRequestSchema = DeleteOpSchema.extend(base).strict();
export const BatchRequestSchema = z
  .object({ ...base, op: z.literal('batch'), ops: z.array(WriteOpSchema).min(1) })
  .strict();
export const PingRequestSchema = z.object({ ...base, op: z.literal('ping') }).strict();
/** `ack`: acknowledges a reported hand-edit merge conflict (health stops naming it). */
export const HealthRequestSchema = z.object({ ...base, op: z.literal('health'), ack: z.boolean().optional() }).strict();
export const WatchRequestSchema = z
  .object({
    ...base,
    op: z.literal('watch'),
    path: pathSchema,
    /** Replay from this revision (inclusive) when the history still holds it. */
    startRevision: revision.optional(),
    /** The epoch startRevision belongs to; a different epoch means a restart and forces a resync. */
    epoch: z.string().optional(),
    initial: z.enum(['snapshot', 'none']).optional(),
  })
  .strict();
export const UnwatchRequestSchema = z.object({ ...base, op: z.literal('unwatch'), watchId: z.number().int().nonnegative() }).strict();
export const InfoRequestSchema = z.object({ ...base, op: z.literal('info') }).strict();
export const StatsRequestSchema = z.object({ ...base, op: z.literal('stats') }).strict();
/** Lists the sidecar's backups, newest first, numbered from 1. */
export const BackupsRequestSchema = z.object({ ...base, op: z.literal('backups') }).strict();
/** Brings backup `n` (1 = newest, as `backups` numbers them) back as a new revision; the sidecar reads its own state directory. */
export const RestoreRequestSchema = z.object({ ...base, op: z.literal('restore'), n: z.number().int().min(1).max(1_000_000) }).strict();

export const RequestSchema = z.discriminatedUnion('op', [
  GetRequestSchema,
  SetRequestSchema,
  DeleteRequestSchema,
  BatchRequestSchema,
  PingRequestSchema,
  HealthRequestSchema,
  InfoRequestSchema,
  StatsRequestSchema,
  WatchRequestSchema,
  UnwatchRequestSchema,
  BackupsRequestSchema,
  RestoreRequestSchema,
]);
export type Request = z.infer<typeof RequestSchema>;
export type RequestOp = Request['op'];
export const REQUEST_OPS: readonly RequestOp[] = RequestSchema.options.map((o) => o.shape.op.value);

// ---- responses ---------------------------------------------------------------

export const WireErrorSchema = z
  .object({
    code: z.enum(ERROR_CODES as [string, ...string[]]),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type WireError = z.infer<typeof WireErrorSchema>;

/** `{epoch, revision}` carried by every read and write response. */
const position = { epoch: z.string(), revision };

export const GetResultSchema = z
  .object({ ...position, value: z.unknown(), modRevision: revision })
  .strict();
export const WriteResultSchema = z
  .object({ ...position, results: z.array(z.object({ modRevision: revision, existed: z.boolean() }).strict()) })
  .strict();
export const PingResultSchema = z.object({ ...position }).strict();
export const BackupsResultSchema = z
  .object({ ...position, backups: z.array(z.object({ n: z.number().int(), name: z.string(), path: z.string(), bytes: z.number().int(), modified: z.string() }).strict()) })
  .strict();
export const RestoreResultSchema = z.object({ ...position, restored: z.string(), results: WriteResultSchema.shape.results }).strict();

export const HealthStatusSchema = z.enum(['ok', 'degraded', 'failing']);
export const HealthResultSchema = z
  .object({
    ...position,
    status: HealthStatusSchema,
    reasons: z.array(z.string()),
    configPath: z.string(),
    fileValid: z.boolean(),
    memoryEqualsDisk: z.boolean(),
    lastWriteAt: z.string().nullable(),
    writeErrors: z.number().int(),
    lastWriteError: z.string().nullable(),
    readOnly: z.boolean(),
  })
  .strict();
export type HealthResult = z.infer<typeof HealthResultSchema>;

export const OkResponseSchema = z.object({ id: requestId, ok: z.literal(true) }).passthrough();
export const ErrorResponseSchema = z.object({ id: requestId, ok: z.literal(false), error: WireErrorSchema }).strict();
export const ResponseSchema = z.union([OkResponseSchema, ErrorResponseSchema]);
export type Response = z.infer<typeof ResponseSchema>;

// ---- watch pushes -------------------------------------------------------------

export const ChangeSchema = z.union([
  z.object({ path: z.array(z.string()), value: z.unknown() }).strict(),
  z.object({ path: z.array(z.string()), deleted: z.literal(true) }).strict(),
]);
export type WireChange = z.infer<typeof ChangeSchema>;

/** Why a watch could not be resumed and comes with a fresh snapshot instead. */
export const ResyncReasonSchema = z.enum(['compacted', 'epoch']);

/** Answer to `watch`: created at `revision`; a snapshot of the path at it when asked for, or when resuming failed. */
export const WatchResultSchema = z
  .object({
    ...position,
    watchId: z.number().int(),
    snapshot: z.object({ value: z.unknown(), exists: z.boolean() }).strict().optional(),
    resync: ResyncReasonSchema.optional(),
  })
  .strict();

/** One committed revision touching a watched path: all its changes under that path. */
export const WatchEventSchema = z
  .object({
    type: z.literal('event'),
    watchId: z.number().int(),
    revision,
    source: z.enum(['client', 'file', 'reload', 'migration']),
    changes: z.array(ChangeSchema),
  })
  .strict();
export type WatchEvent = z.infer<typeof WatchEventSchema>;

/** Sent on a watch idle for a while: everything up to `revision` has been delivered (nothing touched the path). */
export const WatchProgressSchema = z.object({ type: z.literal('progress'), watchId: z.number().int(), revision }).strict();
export type WatchProgress = z.infer<typeof WatchProgressSchema>;

/** A connection-level error (no request id): sent before the sidecar closes the connection. */
export const ConnectionErrorSchema = z.object({ type: z.literal('error'), error: WireErrorSchema }).strict();
export type ConnectionError = z.infer<typeof ConnectionErrorSchema>;

/** Everything the sidecar may send after hello. */
export const ServerMessageSchema = z.union([ResponseSchema, WatchEventSchema, WatchProgressSchema, ConnectionErrorSchema]);
