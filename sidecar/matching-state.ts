// Where a file that does not match the schema at start is served from: the
// newest earlier state of the config that does. Earlier states come from a
// source, newest first; today that is backups/ (a backup can lag the last
// acknowledged write). A durable record of the last committed state is meant
// to be put in front of it as another source, without changing the caller.
import { checkText } from './config-file.js';
import type { CheckedDocument, ConfigSchema } from './config-schema.js';
import type { Backups } from './backups.js';
import type { JsonObject } from './document.js';
import { splitMeta } from './file-envelope.js';
import type { FsOps } from './fs-ops.js';
import type { Logger } from './logger.js';

/** One earlier state of the config: its document, the schema version it declares, and where it was found. */
export interface EarlierState {
  doc: JsonObject;
  version: number | undefined;
  /** A path or a name an operator can find it by. */
  source: string;
}

/** Earlier states, newest first. */
export type EarlierStates = () => AsyncIterable<EarlierState>;

/** The backups, newest first; one that cannot be read or parsed is skipped with a warning. */
export function backupStates(backups: Backups, fs: FsOps, log: Logger): EarlierStates {
  return async function* () {
    for (const backup of await backups.list()) {
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(backup.path);
      } catch (error) {
        log.warn({ backup: backup.path, err: error }, 'cannot read a backup; skipped');
        continue;
      }
      const checked = checkText(bytes);
      const split = typeof checked === 'string' ? undefined : splitMeta(checked.doc);
      const problem = typeof checked === 'string' ? checked : split!.problem;
      if (problem !== undefined) {
        log.warn({ backup: backup.path, problem }, 'an unusable backup; skipped');
        continue;
      }
      yield { doc: split!.doc, version: split!.version, source: backup.path };
    }
  };
}

/** The newest earlier state at the schema's version that passes it, with its view; undefined if none does. */
export async function newestMatchingState(
  schema: ConfigSchema,
  states: EarlierStates,
  log: Logger,
): Promise<{ state: EarlierState; checked: CheckedDocument } | undefined> {
  for await (const state of states()) {
    // A backup from before versioning declares nothing: version 0.
    const version = schema.version === undefined ? undefined : (state.version ?? 0);
    if (version !== schema.version) {
      log.info({ source: state.source, version }, 'an earlier state from another schema version; skipped');
      continue;
    }
    try {
      return { state, checked: await schema.check(state.doc, state.doc) };
    } catch (error) {
      log.info({ source: state.source, reason: (error as Error).message }, 'an earlier state that does not match the schema; skipped');
    }
  }
  return undefined;
}
