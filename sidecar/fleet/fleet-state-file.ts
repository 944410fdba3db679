// The last fleet state the source applied, kept durably in its state
// directory so a start while etcd is down can serve it at once:
// `fleet-state.json` = {format, prefix, clusterId, revision, syncedAt, entries}.
import path from 'node:path';
import { z } from 'zod';
import { durableReplace } from '../durable-write.js';
import { realFs, type FsOps } from '../fs-ops.js';

export const FLEET_STATE_FILE = 'fleet-state.json';

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

/** The persisted fleet state. */
export interface FleetState {
  prefix: string;
  clusterId: string;
  revision: number;
  syncedAt: number;
  entries: ReadonlyMap<string, string>;
}

/** What loading found: a state, nothing yet, or a file that cannot be used (and why). */
export type LoadedFleetState = { state: FleetState } | { state: undefined; problem?: string };

export async function loadFleetState(dir: string, prefix: string, fs: FsOps = realFs): Promise<LoadedFleetState> {
  const file = path.join(dir, FLEET_STATE_FILE);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
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
  if (parsed.prefix !== prefix) {
    return { state: undefined, problem: `${file} holds prefix ${parsed.prefix}, not ${prefix}; it is replaced at the next read from etcd` };
  }
  return {
    state: { prefix, clusterId: parsed.clusterId, revision: parsed.revision, syncedAt: parsed.syncedAt, entries: new Map(parsed.entries) },
  };
}

/** Writes `state` durably (temp file, fsync, rename, directory fsync); resolves only once it is on disk. */
export async function saveFleetState(dir: string, state: FleetState, fs: FsOps = realFs): Promise<void> {
  const text = JSON.stringify({
    format: 1,
    prefix: state.prefix,
    clusterId: state.clusterId,
    revision: state.revision,
    syncedAt: state.syncedAt,
    entries: [...state.entries],
  });
  await durableReplace(path.join(dir, FLEET_STATE_FILE), Buffer.from(text + '\n'), { fs, mode: 0o600 });
}
