// Claiming a socket path: one sidecar per path. The path is taken under a
// short lock beside it (held while binding and while removing), a socket is
// bound under a temporary name and renamed into place, so the path is never
// missing for clients and a live sidecar's socket is never replaced; a
// sidecar removes the path only while it still names the socket it created.
import { randomBytes } from 'node:crypto';
import { lstat, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { lstatOrUndefined } from '../ownership/private-directory.js';

/** How long a bind lock may go without refresh before another starter takes it over (its holder died mid-bind). */
const BIND_LOCK_STALE_MS = 5000;
/** Waits for a bind lock held by another starter: past the stale time, so a dead holder's lock is taken over. */
const BIND_LOCK_RETRIES = { retries: 60, minTimeout: 20, maxTimeout: 200, factor: 1.5 };

/** Something else is at the socket path: a live sidecar, or a file that is not a socket. */
export class SocketTakenError extends Error {
  override readonly name = 'SocketTakenError';
}

/** Runs `work` holding the bind lock of `socketPath`. */
export async function underBindLock<T>(socketPath: string, work: () => Promise<T>): Promise<T> {
  const release = await lockfile.lock(socketPath, {
    lockfilePath: `${socketPath}.lock`,
    realpath: false,
    stale: BIND_LOCK_STALE_MS,
    retries: BIND_LOCK_RETRIES,
    // Held for milliseconds: a lost lock only means a later starter may have taken the path, which the inode check covers.
    onCompromised: () => undefined,
  });
  try {
    return await work();
  } finally {
    await release();
  }
}

/**
 * A temporary name in the socket's directory, no longer than the final name where possible, so a path
 * that fits the platform's limit still fits while bound under it.
 */
export function temporarySocketPath(socketPath: string): string {
  const base = path.basename(socketPath);
  const length = Math.min(12, Math.max(4, base.length - 1));
  const random = randomBytes(12).toString('base64url').slice(0, length);
  return path.join(path.dirname(socketPath), `.${random}`);
}

/**
 * Moves the socket bound at `boundPath` to `socketPath` (under the bind lock), unless a live sidecar
 * answers there or a non-socket file is in the way. Returns the inode it now has there.
 */
export async function installSocket(boundPath: string, socketPath: string, probe: (socketPath: string) => Promise<boolean>): Promise<number> {
  const existing = await lstatOrUndefined(socketPath);
  if (existing !== undefined && !existing.isSocket()) {
    throw new SocketTakenError(`${socketPath} exists and is not a socket; refusing to replace it (remove it or choose another --socket)`);
  }
  if (existing !== undefined && (await probe(socketPath))) {
    throw new SocketTakenError(`another sidecar already answers on ${socketPath}; refusing to take its socket`);
  }
  // rename(2) replaces a stale socket atomically: clients never see the path missing.
  await rename(boundPath, socketPath);
  return (await lstat(socketPath)).ino;
}

/**
 * Removes `socketPath` if it is still the socket with inode `ino` (another sidecar may have replaced it
 * since): checked once without the lock (nothing to do, or the directory is gone), then again under it.
 */
export async function removeOwnSocket(socketPath: string, ino: number): Promise<boolean> {
  if ((await lstatOrUndefined(socketPath))?.ino !== ino) return false;
  return underBindLock(socketPath, async () => {
    if ((await lstatOrUndefined(socketPath))?.ino !== ino) return false;
    await unlink(socketPath);
    return true;
  });
}
