// The `backups` and `restore` ops: the sidecar lists and reads backups from
// its own state directory, so a client never opens a file a server named
// (a sidecar impersonator could name any file the client can read).
import { readFile, stat } from 'node:fs/promises';
import { ErrorCode, ProtocolError } from '../../protocol/index.js';
import type { BackupEntry } from '../../protocol/server-messages.js';
import type { Backups } from './backups.js';
import { checkText } from './config-file.js';
import type { JsonObject } from '../store/document.js';
import { splitMeta } from './file-envelope.js';


/** The backups, newest first, numbered from 1. */
export async function listBackups(backups: Backups): Promise<BackupEntry[]> {
  const files = await backups.list();
  return Promise.all(
    files.map(async (file, i) => {
      const info = await stat(file.path);
      return { n: i + 1, name: file.name, path: file.path, bytes: info.size, modified: info.mtime.toISOString() };
    }),
  );
}

/**
 * Backup `n`'s document as it can be written back. With a schema in force the file's own keys
 * ("$schema", "$schemaVersion") are left out, and a backup from another schema version is refused
 * (migrations run only at start).
 */
export async function restorableBackup(backups: Backups, n: number, schema: { version: number | undefined } | undefined): Promise<{ name: string; doc: JsonObject }> {
  const files = await backups.list();
  const chosen = files[n - 1];
  if (chosen === undefined) {
    throw new ProtocolError(ErrorCode.NOT_FOUND, `no backup ${n} (there are ${files.length}; 1 is the newest)`, { n, backups: files.length });
  }
  const checked = checkText(await readFile(chosen.path));
  if (typeof checked === 'string') throw new ProtocolError(ErrorCode.VALIDATION_FAILED, `backup ${n} (${chosen.name}) is unusable: ${checked}`, { n });
  if (schema === undefined) return { name: chosen.name, doc: checked.doc };
  const split = splitMeta(checked.doc);
  if (split.problem !== undefined) throw new ProtocolError(ErrorCode.VALIDATION_FAILED, `backup ${n} (${chosen.name}): ${split.problem}`, { n });
  if (schema.version !== undefined && (split.version ?? 0) !== schema.version) {
    throw new ProtocolError(
      ErrorCode.VALIDATION_FAILED,
      `backup ${n} (${chosen.name}) is at schema version ${split.version ?? 0}, the sidecar serves version ${schema.version}: to bring it back, stop the sidecar and put it in place of the config file, so it is migrated at start`,
      { n, backupVersion: split.version ?? 0, servedVersion: schema.version },
    );
  }
  return { name: chosen.name, doc: split.doc };
}
