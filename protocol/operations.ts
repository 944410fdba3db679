// The operation table: for each request op, the shape of its result. Requests
// are the zod schemas of protocol/messages.ts (the sidecar parses them at the
// wire); results are checked by the client against this table, and the
// sidecar's handlers are typed by it, so both sides agree on one definition.
// This file imports messages.ts for types only: the client loads it without zod.
import type { Request, RequestOp } from './messages.js';
import { count, extend, literal, type Infer, type Shape } from './shape.js';
import {
  BackupsResultSchema,
  FactsResultSchema,
  GetResultSchema,
  HealthResultSchema,
  LogLevelResultSchema,
  PositionResultSchema,
  RestoreResultSchema,
  WatchResultSchema,
  WriteResultSchema,
} from './server-messages.js';

export const OPERATION_RESULTS = {
  get: GetResultSchema,
  set: WriteResultSchema,
  delete: WriteResultSchema,
  batch: WriteResultSchema,
  ping: PositionResultSchema,
  health: HealthResultSchema,
  info: FactsResultSchema,
  stats: FactsResultSchema,
  watch: WatchResultSchema,
  unwatch: PositionResultSchema,
  backups: BackupsResultSchema,
  restore: RestoreResultSchema,
  logLevel: LogLevelResultSchema,
} as const satisfies { [Op in RequestOp]: Shape<unknown> };

/**
 * Each op's whole answer as it arrives, `id` and `ok` beside the result's
 * fields: derived from OPERATION_RESULTS, so the client checks a response in
 * one pass without copying it.
 */
export const OPERATION_RESPONSES = Object.fromEntries(
  Object.entries(OPERATION_RESULTS).map(([op, result]) => [op, extend(result, { id: count, ok: literal(true) })]),
) as unknown as { [Op in RequestOp]: Shape<ResultOf<Op> & { id: number; ok: true }> };

/** The request of one op, as the sidecar receives it after parsing. */
export type RequestOf<Op extends RequestOp> = Extract<Request, { op: Op }>;

/** The result of one op (the response without its `id` / `ok` envelope). */
export type ResultOf<Op extends RequestOp> = Infer<(typeof OPERATION_RESULTS)[Op]>;
