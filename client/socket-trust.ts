// Whom the client is about to talk to. Node offers no peer credentials on a
// Unix socket (no SO_PEERCRED / getpeereid), so the client checks what the
// kernel enforces instead, before connecting: the socket and its directory
// belong to the expected user (or root) and the directory is writable by
// nobody else, so only that user could have put a listening socket there
// (OpenSSH's StrictModes; PostgreSQL's clients trust the socket directory the
// same way). Named pipes have no file to check: see docs/operations.md.
import type { Stats } from 'node:fs';
import path from 'node:path';
import { ClientErrorCode, ConfigSidecarError } from './client-errors.js';

// node:fs's callbacks, not node:fs/promises: importing that loads ~8 more of Node's own modules
// (file handles, directory streams, readline) into every process that imports the client.
const fs = process.getBuiltinModule('node:fs');
const stat = (file: string) => new Promise<Stats>((resolve, reject) => fs.stat(file, (error, stats) => (error === null ? resolve(stats) : reject(error))));
const lstat = (file: string) => new Promise<Stats>((resolve, reject) => fs.lstat(file, (error, stats) => (error === null ? resolve(stats) : reject(error))));

/** The user a socket must belong to: a uid or a user name. */
export type ExpectedOwner = number | string;

/** The uid of `owner`: numbers as they are, names from the passwd database. */
export async function resolveOwner(owner: ExpectedOwner): Promise<number> {
  if (typeof owner === 'number') return owner;
  if (/^[0-9]+$/.test(owner)) return Number(owner);
  const fromFile = await uidFromPasswd(owner);
  if (fromFile !== undefined) return fromFile;
  // Users from a directory service (LDAP, macOS) are not in /etc/passwd: id(1) asks the system.
  // (node:child_process is loaded here, not at import: most clients never need it.)
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile('id', ['-u', owner], { timeout: 5000 }, (error, stdout) => {
      const uid = Number(stdout.trim());
      if (error !== null || !Number.isSafeInteger(uid)) {
        reject(new ConfigSidecarError(ClientErrorCode.UNTRUSTED_SOCKET, `expected socket owner "${owner}" is not a known user; give a user name or a numeric uid`));
      } else resolve(uid);
    });
  });
}

async function uidFromPasswd(name: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile('/etc/passwd', 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined && /^[0-9]+$/.test(fields[2])) return Number(fields[2]);
  }
  return undefined;
}

/**
 * Checks the socket at `socketPath` and its directory; resolves when they can be trusted (or do not
 * exist yet: then there is nobody to talk to), rejects with UNTRUSTED_SOCKET saying what is wrong.
 */
export async function checkSocketTrust(socketPath: string, expectedUid: number): Promise<void> {
  if (process.platform === 'win32') return;
  const dir = path.dirname(socketPath);
  const dirStat = await statOrUndefined(() => stat(dir));
  if (dirStat === undefined) return;
  const remedy = `for a sidecar run by another user, name that user with --expect-owner (expectedOwner in connect())`;
  if (!trustedOwner(dirStat.uid, expectedUid)) {
    throw untrusted(
      `the socket directory ${dir} belongs to uid ${dirStat.uid}, not uid ${expectedUid}: another user may be impersonating the sidecar. ` +
        `Remove ${dir} (its owner or root can) and start the sidecar again, or ${remedy}`,
      { socketPath, directory: dir, owner: dirStat.uid, expectedOwner: expectedUid },
    );
  }
  if ((dirStat.mode & 0o022) !== 0) {
    throw untrusted(
      `the socket directory ${dir} is writable by ${(dirStat.mode & 0o002) !== 0 ? 'others' : 'its group'} (mode ${(dirStat.mode & 0o7777).toString(8)}), so anyone there could have put a socket in it; ` +
        `put the socket in a directory only its owner can write`,
      { socketPath, directory: dir, mode: dirStat.mode & 0o7777 },
    );
  }
  const socketStat = await statOrUndefined(() => lstat(socketPath));
  if (socketStat === undefined) return;
  if (!socketStat.isSocket()) {
    throw untrusted(`${socketPath} is not a socket (${socketStat.isSymbolicLink() ? 'a symbolic link' : 'another kind of file'}); refusing to connect through it`, { socketPath });
  }
  if (!trustedOwner(socketStat.uid, expectedUid)) {
    throw untrusted(`the socket ${socketPath} belongs to uid ${socketStat.uid}, not uid ${expectedUid}: another user may be impersonating the sidecar; ${remedy}`, {
      socketPath,
      owner: socketStat.uid,
      expectedOwner: expectedUid,
    });
  }
}

/** Root can take any socket anyway: a root-owned one is as trusted as the expected user's. */
function trustedOwner(uid: number, expectedUid: number): boolean {
  return uid === expectedUid || uid === 0;
}

function untrusted(message: string, details: Record<string, unknown>): ConfigSidecarError {
  return new ConfigSidecarError(ClientErrorCode.UNTRUSTED_SOCKET, message, details);
}

async function statOrUndefined(read: () => Promise<Stats>): Promise<Stats | undefined> {
  try {
    return await read();
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}
