// The directories the sidecar keeps its socket and state in: created 0700 by
// the sidecar when missing, and when they exist, taken only if this user owns
// them and nobody else can write them (OpenSSH's StrictModes, systemd's
// RuntimeDirectory). The sidecar never changes the mode or owner of a
// directory: one it did not create is refused with what to do instead.
import type { Stats } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** A directory the sidecar will not use, with why and what to do. */
export class UntrustedDirectoryError extends Error {
  override readonly name = 'UntrustedDirectoryError';
}

const currentUid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/**
 * Makes sure `dir` is a private directory of this user: creates it (and missing parents) 0700 when
 * absent, else checks it is a real directory owned by this user and not writable by group or others.
 * `what` names it in messages ("socket directory", "state directory").
 */
export async function preparePrivateDirectory(dir: string, what: string): Promise<void> {
  if (process.platform === 'win32') {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return;
  }
  const found = await lstatOrUndefined(dir);
  if (found === undefined) {
    await checkParentNotShared(dir, what);
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  const stat = await lstat(dir);
  const uid = currentUid();
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new UntrustedDirectoryError(`${what} ${dir} is not a directory (a symbolic link or another file is in its place); remove it or choose another path`);
  }
  if (uid !== undefined && stat.uid !== uid) {
    throw new UntrustedDirectoryError(
      `${what} ${dir} is owned by uid ${stat.uid}, not by this user (uid ${uid}); someone else created it. ` +
        `Remove it (its owner or root can) or choose another path; the sidecar does not take over directories it did not create`,
    );
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new UntrustedDirectoryError(
      `${what} ${dir} is writable by ${(stat.mode & 0o002) !== 0 ? 'others' : 'its group'} (mode ${modeText(stat.mode)}), so another user could replace what is in it. ` +
        `Use a private directory (e.g. ${path.join(dir, 'config-sidecar')}/, which the sidecar creates 0700), or run chmod go-w ${dir} yourself`,
    );
  }
}

/**
 * A directory the sidecar creates entries in but does not own (the config file's directory): it may be
 * shared, but then only with the sticky bit (like /tmp), so nobody can rename or replace what the
 * sidecar put there; and it must belong to this user or root.
 */
export async function checkSharedDirectory(dir: string, what: string): Promise<void> {
  if (process.platform === 'win32') return;
  const stat = await lstatOrUndefined(dir);
  if (stat === undefined) return;
  const mode = Number(stat.mode);
  const uid = currentUid();
  if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
    throw new UntrustedDirectoryError(`${what} ${dir} is owned by uid ${stat.uid}, neither this user (uid ${uid}) nor root, who could replace what the sidecar keeps there; move the config or run the sidecar as that user`);
  }
  if ((mode & 0o022) !== 0 && (mode & 0o1000) === 0) {
    throw new UntrustedDirectoryError(
      `${what} ${dir} is writable by ${(mode & 0o002) !== 0 ? 'others' : 'its group'} without the sticky bit (mode ${modeText(mode)}), so another user could replace the sidecar's files in it; move the config to a directory only its owner can write`,
    );
  }
}

async function checkParentNotShared(dir: string, what: string): Promise<void> {
  // The nearest existing ancestor is where the new directory goes: a shared one must be sticky.
  let parent = path.dirname(dir);
  while ((await lstatOrUndefined(parent)) === undefined && path.dirname(parent) !== parent) parent = path.dirname(parent);
  await checkSharedDirectory(parent, `the parent of the ${what},`);
}

/** lstat, or undefined when nothing is there. */
export async function lstatOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await lstat(file);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

function modeText(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
