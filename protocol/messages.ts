// Every message the client sends (hello, requests), as zod schemas the
// sidecar parses at the wire; the TypeScript types are derived from them and
// never written twice. What the sidecar sends is in server-messages.ts.
// Values (`value` fields) are z.unknown(): the codec has already proved them
// JSON-compatible and bounded, and walking a 16 MiB value again with zod would
// cost time for nothing.
import { z } from 'zod';

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
export type Guard = z.infer<typeof GuardSchema>;

/** A condition of a write on any path: its modRevision must be this (0: must not exist); all must hold, else CONFLICT. */
export const GuardSchema = z.object({ path: pathSchema, modRevision: revision }).strict();
/** `waitForFile`: answer only once the config file holds the write (it is committed, and served, before). */
const guards = { if: z.array(GuardSchema).min(1).max(64).optional(), waitForFile: z.boolean().optional() };

export const GetRequestSchema = z.object({ ...base, op: z.literal('get'), path: pathSchema }).strict();
export const SetRequestSchema = SetOpSchema.extend({ ...base, ...guards }).strict();
export const DeleteRequestSchema = DeleteOpSchema.extend({ ...base, ...guards }).strict();
export const BatchRequestSchema = z
  .object({ ...base, op: z.literal('batch'), ops: z.array(WriteOpSchema).min(1), ...guards })
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

/** The log levels a running sidecar can be set to. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** Sets the sidecar's log level until it stops (or the next change); without `level` only reports it. */
export const LogLevelRequestSchema = z.object({ ...base, op: z.literal('logLevel'), level: z.enum(LOG_LEVELS).optional() }).strict();

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
  LogLevelRequestSchema,
]);
export type Request = z.infer<typeof RequestSchema>;
export type RequestOp = Request['op'];
export const REQUEST_OPS: readonly RequestOp[] = RequestSchema.options.map((o) => o.shape.op.value);

