// One sidecar per config file. The lock is proper-lockfile's (a directory,
// refreshed while held); beside it owner.json names the holder: pid, socket,
// and the lock directory's inode, which ties the record to this very lock.
// A lock whose recorded owner is dead (pid gone, socket silent) is reclaimed
// at once instead of after proper-lockfile's stale timeout, so a restart after
// kill -9 serves within a second or two. Reclaiming happens under a second
// mkdir mutex so two starters can never both take over the same dead lock.
import { randomBytes } from 'node:crypto';
import nodeFs, { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { z } from 'zod';
import { processAlive } from './process-liveness.js';

const OwnerSchema = z.object({ pid: z.number().int(), socket: z.string(), lockIno: z.number(), host: z.string(), since: z.string() });
export type OwnerRecord = z.infer<typeof OwnerSchema>;

/** Another live sidecar owns the config; the message names it. */
export class AlreadyOwnedError extends Error {
  override readonly name = 'AlreadyOwnedError';
  constructor(
    readonly configPath: string,
    readonly owner: OwnerRecord | undefined,
  ) {
    super(
      owner === undefined
        ? `${configPath} is locked by another sidecar that has not recorded itself yet`
        : `${configPath} is already served by sidecar pid ${owner.pid} on ${owner.socket}`,
    );
  }
}

export interface OwnershipOptions {
  configPath: string;
  stateDir: string;
  socketPath: string;
  /** True when something answers on a socket. */
  probe(socketPath: string): Promise<boolean>;
  /** The lock was lost (e.g. this process was paused past the stale window). */
  onCompromised(error: Error): void;
  /** proper-lockfile stale threshold; the lock is refreshed at a third of it. */
  staleMs?: number;
}

export interface Ownership {
  release(): Promise<void>;
  /**
   * Throws LeaseExpired unless the lock was refreshed recently enough (by the
   * monotonic clock) that no other process can have taken it over yet.
   * Checked before each rename into place; the generation fence
   * (generation-fence.ts) closes the window between this check and the rename.
   */
  assertLease(): void;
}

/** The lock was not refreshed within the lease: another process may own the file by now. */
export class LeaseExpired extends Error {
  override readonly name = 'LeaseExpired';
}

/** Share of the stale threshold a refresh stays good for: a new owner takes over only after all of it. */
const LEASE_SHARE = 0.8;

const UNKNOWN_OWNER_WAIT_MS = 1500;

export async function acquireOwnership(options: OwnershipOptions): Promise<Ownership> {
  const { stateDir } = options;
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const lockPath = path.join(stateDir, 'lock');
  const ownerPath = path.join(stateDir, 'owner.json');
  const staleMs = options.staleMs ?? 10_000;
  // When the last refresh that succeeded was started (monotonic): the lock's mtime is no older than that.
  let refreshedAt = performance.now();
  const leaseFs = {
    ...nodeFs,
    utimes: (file: string, atime: Date, mtime: Date, callback: (error: NodeJS.ErrnoException | null) => void) => {
      const started = performance.now();
      nodeFs.utimes(file, atime, mtime, (error) => {
        if (error === null) refreshedAt = started;
        callback(error);
      });
    },
  };
  const lockOptions = {
    fs: leaseFs,
    lockfilePath: lockPath,
    realpath: false,
    stale: staleMs,
    update: Math.floor(staleMs / 3),
    retries: 0,
    onCompromised: options.onCompromised,
  };

  const take = async (): Promise<Ownership> => {
    const started = performance.now();
    const release = await lockfile.lock(options.configPath, lockOptions);
    refreshedAt = started;
    const { ino } = await fs.stat(lockPath);
    const record: OwnerRecord = { pid: process.pid, socket: options.socketPath, lockIno: ino, host: os.hostname(), since: new Date().toISOString() };
    const temp = `${ownerPath}.${randomBytes(4).toString('hex')}`;
    await fs.writeFile(temp, JSON.stringify(record) + '\n', { mode: 0o600 });
    await fs.rename(temp, ownerPath);
    return {
      assertLease: () => {
        const age = performance.now() - refreshedAt;
        if (age > staleMs * LEASE_SHARE) {
          throw new LeaseExpired(`the ownership lock was last refreshed ${Math.round(age)} ms ago (stale after ${staleMs} ms): another sidecar may own the file`);
        }
      },
      release: async () => {
        // After a compromise the record may be the new owner's: only ever remove our own.
        const current = await readOwner(ownerPath);
        if (current?.pid === record.pid && current.lockIno === record.lockIno) await fs.rm(ownerPath, { force: true });
        await release();
      },
    };
  };

  const unknownSince = Date.now();
  for (;;) {
    try {
      return await take();
    } catch (error) {
      if ((error as { code?: string }).code !== 'ELOCKED') throw error;
    }
    const owner = await currentOwner(lockPath, ownerPath);
    if (owner !== undefined) {
      if (await isAlive(owner, options.probe)) throw new AlreadyOwnedError(options.configPath, owner);
      const taken = await reclaim(stateDir, owner, lockPath, ownerPath, take, options.probe);
      if (taken !== undefined) return taken;
    } else if (Date.now() - unknownSince > UNKNOWN_OWNER_WAIT_MS + staleMs) {
      // proper-lockfile's own stale check would have freed a dead unrecorded lock by now.
      throw new AlreadyOwnedError(options.configPath, undefined);
    }
    await sleep(20 + Math.random() * 30);
  }
}

/** The owner recorded for the lock as it is now; undefined if the record is missing or about another lock. */
async function currentOwner(lockPath: string, ownerPath: string): Promise<OwnerRecord | undefined> {
  let ino: number;
  let text: string;
  try {
    ino = (await fs.stat(lockPath)).ino;
    text = await fs.readFile(ownerPath, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = OwnerSchema.safeParse(safeJson(text));
  return parsed.success && parsed.data.lockIno === ino ? parsed.data : undefined;
}

/**
 * Who owns the file now, for the log line of an owner that lost it: the
 * recorded owner unless that is this process. Read synchronously: the process
 * is about to exit.
 */
export function successorOf(stateDir: string): string {
  let owner: OwnerRecord | undefined;
  try {
    const parsed = OwnerSchema.safeParse(safeJson(readFileSync(path.join(stateDir, 'owner.json'), 'utf8')));
    owner = parsed.success ? parsed.data : undefined;
  } catch (error) {
    return `an owner not recorded yet (${(error as Error).message})`;
  }
  return owner === undefined || owner.pid === process.pid ? 'an owner not recorded yet' : `sidecar pid ${owner.pid} on ${owner.socket}`;
}

/** The owner record as written, whatever lock it describes; undefined if missing or unreadable. */
async function readOwner(ownerPath: string): Promise<OwnerRecord | undefined> {
  let text: string;
  try {
    text = await fs.readFile(ownerPath, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = OwnerSchema.safeParse(safeJson(text));
  return parsed.success ? parsed.data : undefined;
}

async function isAlive(owner: OwnerRecord, probe: (socket: string) => Promise<boolean>): Promise<boolean> {
  if (owner.host === os.hostname() && !(await processAlive(owner.pid, new Date(owner.since)))) {
    return probe(owner.socket);
  }
  // pid exists (or another host): alive unless proper-lockfile finds the lock stale.
  return true;
}

/** Takes over a dead owner's lock, unless another starter is doing so; undefined means "look again". */
async function reclaim(
  stateDir: string,
  dead: OwnerRecord,
  lockPath: string,
  ownerPath: string,
  take: () => Promise<Ownership>,
  probe: (socket: string) => Promise<boolean>,
): Promise<Ownership | undefined> {
  const mutex = path.join(stateDir, 'reclaim');
  try {
    await fs.mkdir(mutex);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
    // A reclaimer killed mid-way leaves the mutex behind; it is only ever held for milliseconds.
    const since = await fs.stat(mutex).then((s) => s.mtimeMs, (statError: unknown) => (ignoreMissing(statError), Date.now()));
    if (Date.now() - since > 5000) await fs.rmdir(mutex).catch(ignoreMissing);
    return undefined;
  }
  try {
    const owner = await currentOwner(lockPath, ownerPath);
    if (owner === undefined || owner.lockIno !== dead.lockIno || (await isAlive(owner, probe))) return undefined;
    await fs.rm(lockPath, { recursive: true, force: true });
    try {
      return await take();
    } catch (error) {
      // A plain starter took the freed lock first: it is the owner now, look again.
      if ((error as { code?: string }).code === 'ELOCKED') return undefined;
      throw error;
    }
  } finally {
    await fs.rmdir(mutex).catch(ignoreMissing);
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as { code?: string }).code !== 'ENOENT') throw error;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    return undefined; // a half-written record is treated like no record: the caller waits
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
