// The last fleet state the source applied, kept durably in its state
// directory so a start while etcd is down can serve it at once. Two files:
// `fleet-state.json` = {format, prefix, clusterId, revision, syncedAt,
// entries}, a checkpoint of the whole state, and `fleet-log`, the watch
// batches applied since (framed records, framed-records.ts: a torn tail is
// dropped). A batch costs one append and an fdatasync, whatever the size of
// the fleet's state (it is made durable before it is applied, so a change of
// etcd reaches the sidecar's watchers one sync after it arrives); a read of
// the whole prefix, or a log grown past its bound, writes a new checkpoint
// and starts the log again. Records at or below the checkpoint's revision
// are ignored (a crash between the two).
import path from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { durableReplace } from '../disk/durable-write.js';
import { decodeFrames, encodeFrame, FRAME_HEADER } from '../disk/framed-records.js';
import { realFs, syncDirectory, type FsOps } from '../disk/fs-ops.js';

export const FLEET_STATE_FILE = 'fleet-state.json';
export const FLEET_LOG_FILE = 'fleet-log';
/** The log is folded into a new checkpoint past this size (or twice the checkpoint's, if more). */
const LOG_MIN_BYTES = 64 * 1024;

const FleetStateSchema = z.strictObject({
  format: z.literal(1),
  /** The key prefix the entries were read from; another prefix's state is not used. */
  prefix: z.string(),
  /** etcd's cluster id (decimal text): a different cluster's revisions mean nothing here. */
  clusterId: z.string(),
  /** etcd revision the entries are the state of. */
  revision: z.number().int().nonnegative(),
  /** When etcd last confirmed this state (ms since the epoch). */
  syncedAt: z.number().int().nonnegative(),
  /** [key below the prefix, value text] pairs (pairs, not an object: a key may be "__proto__"). */
  entries: z.array(z.tuple([z.string(), z.string()])),
});

const LogRecordSchema = z.strictObject({
  prefix: z.string(),
  clusterId: z.string(),
  revision: z.number().int().nonnegative(),
  syncedAt: z.number().int().nonnegative(),
  /** [key, value text, or null: deleted], in the order etcd applied them. */
  ops: z.array(z.tuple([z.string(), z.string().nullable()])),
});

/** The persisted fleet state. */
export interface FleetState {
  prefix: string;
  clusterId: string;
  revision: number;
  syncedAt: number;
  entries: ReadonlyMap<string, string>;
}

/** One key's change in a watch batch (value undefined: deleted). */
export interface FleetOp {
  key: string;
  value: string | undefined;
}

/** What loading found: a state, nothing yet, or a file that cannot be used (and why). */
export type LoadedFleetState = { state: FleetState } | { state: undefined; problem?: string };

export class FleetStateStore {
  private log: FileHandle | undefined;
  private logBytes = 0;
  private checkpointBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly fs: FsOps = realFs,
  ) {}

  /** The checkpoint with the log's batches applied. */
  async load(): Promise<LoadedFleetState> {
    const file = path.join(this.dir, FLEET_STATE_FILE);
    let bytes: Buffer;
    try {
      bytes = await this.fs.readFile(file);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return { state: undefined };
      return { state: undefined, problem: `cannot read ${file}: ${(error as Error).message}` };
    }
    let parsed: z.infer<typeof FleetStateSchema>;
    try {
      parsed = FleetStateSchema.parse(JSON.parse(bytes.toString('utf8')));
    } catch (error) {
      return { state: undefined, problem: `${file} is not a fleet state file: ${(error as Error).message}` };
    }
    if (parsed.prefix !== this.prefix) {
      return { state: undefined, problem: `${file} holds prefix ${parsed.prefix}, not ${this.prefix}; it is replaced at the next read from etcd` };
    }
    this.checkpointBytes = bytes.length;
    const entries = new Map(parsed.entries);
    let { revision, syncedAt } = parsed;
    for (const record of await this.readLog()) {
      if (record.prefix !== this.prefix || record.clusterId !== parsed.clusterId || record.revision <= revision) continue;
      for (const [key, value] of record.ops) {
        if (value === null) entries.delete(key);
        else entries.set(key, value);
      }
      revision = record.revision;
      syncedAt = record.syncedAt;
    }
    return { state: { prefix: this.prefix, clusterId: parsed.clusterId, revision, syncedAt, entries } };
  }

  /**
   * Makes `state` durable. With `ops` (the watch batch that led from the last saved state to it) they
   * are appended to the log; without, or once the log is past its bound, a new checkpoint is written.
   */
  async save(state: FleetState, ops?: readonly FleetOp[]): Promise<void> {
    if (ops !== undefined && this.checkpointBytes > 0 && this.logBytes < Math.max(LOG_MIN_BYTES, 2 * this.checkpointBytes)) {
      const record: z.infer<typeof LogRecordSchema> = {
        prefix: state.prefix,
        clusterId: state.clusterId,
        revision: state.revision,
        syncedAt: state.syncedAt,
        ops: ops.map((op) => [op.key, op.value ?? null]),
      };
      await this.append(encodeFrame(Buffer.from(JSON.stringify(record))));
      return;
    }
    await this.checkpoint(state);
  }

  async close(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    if (log !== undefined) await this.fs.close(log);
  }

  private async checkpoint(state: FleetState): Promise<void> {
    const text = JSON.stringify({
      format: 1,
      prefix: state.prefix,
      clusterId: state.clusterId,
      revision: state.revision,
      syncedAt: state.syncedAt,
      entries: [...state.entries],
    });
    const bytes = Buffer.from(text + '\n');
    await durableReplace(path.join(this.dir, FLEET_STATE_FILE), bytes, { fs: this.fs, mode: 0o600 });
    this.checkpointBytes = bytes.length;
    // The log's batches are all in the checkpoint now: it starts again (a crash before leaves
    // records at or below the checkpoint's revision, which a load skips).
    await this.close();
    await this.fs.unlink(path.join(this.dir, FLEET_LOG_FILE)).catch((error: unknown) => {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    });
    this.logBytes = 0;
  }

  private async append(frame: Buffer): Promise<void> {
    if (this.log === undefined) {
      this.log = await this.fs.openAppend(path.join(this.dir, FLEET_LOG_FILE));
      await this.fs.truncate(this.log, this.logBytes);
      // A new log's name must survive a crash too.
      if (this.logBytes === 0) await syncDirectory(this.fs, this.dir);
    }
    try {
      await this.fs.append(this.log, frame);
      await this.fs.datasync(this.log);
    } catch (error) {
      // Cut off what may be there: a batch that was not saved must not come back at the next start.
      await this.fs.truncate(this.log, this.logBytes).catch((truncateError: unknown) => {
        throw new AggregateError([error, truncateError], `appending to ${FLEET_LOG_FILE} failed and the record could not be cut off`);
      });
      throw error;
    }
    this.logBytes += frame.length;
  }

  private async readLog(): Promise<z.infer<typeof LogRecordSchema>[]> {
    let bytes: Buffer;
    try {
      bytes = await this.fs.readFile(path.join(this.dir, FLEET_LOG_FILE));
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return [];
      throw error;
    }
    const records: z.infer<typeof LogRecordSchema>[] = [];
    let readable = 0;
    for (const payload of decodeFrames(bytes).payloads) {
      const parsed = LogRecordSchema.safeParse(parseJson(payload));
      if (!parsed.success) break; // damaged from here on: like a torn tail
      records.push(parsed.data);
      readable += FRAME_HEADER + payload.length;
    }
    // Appends continue after what is readable: a torn tail is cut off before the first one.
    this.logBytes = readable;
    return records;
  }
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (error) {
    return { unparsable: (error as Error).message };
  }
}

/** The stored state of `prefix` in `dir` (checkpoint and log). */
export function loadFleetState(dir: string, prefix: string, fs: FsOps = realFs): Promise<LoadedFleetState> {
  return new FleetStateStore(dir, prefix, fs).load();
}
