// The operation table: for each request op, the shape of its result. Requests
// are the zod schemas of protocol/messages.ts (the sidecar parses them at the
// wire); results are checked by the client against this table, and the
// sidecar's handlers are typed by it, so both sides agree on one definition.
// This file imports messages.ts for types only: the client loads it without zod.
import type { Request, RequestOp } from './messages.js';
import type { Infer, Shape } from './shape.js';
import {
  BackupsResultSchema,
  FactsResultSchema,
  GetResultSchema,
  HealthResultSchema,
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
} as const satisfies { [Op in RequestOp]: Shape<unknown> };

/** The request of one op, as the sidecar receives it after parsing. */
export type RequestOf<Op extends RequestOp> = Extract<Request, { op: Op }>;

/** The result of one op (the response without its `id` / `ok` envelope). */
export type ResultOf<Op extends RequestOp> = Infer<(typeof OPERATION_RESULTS)[Op]>;
