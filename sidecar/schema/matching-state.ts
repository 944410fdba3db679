// Where a file that does not match the schema at start is served from: the
// newest earlier state of the config that does. Earlier states come from
// sources, newest first: the last committed state (rebuilt from the previous
// owner's commit journal, so no acknowledged write goes back), then backups/
// (which can lag the last acknowledged write).
import { replayCommits, type JournalContents } from '../file/commit-journal.js';
import { checkText } from '../file/config-file.js';
import type { CheckedDocument, ConfigSchema } from './config-schema.js';
import type { Backups } from '../file/backups.js';
import type { JsonObject } from '../store/document.js';
import { splitMeta } from '../file/file-envelope.js';
import type { FsOps } from '../disk/fs-ops.js';
import type { Logger } from '../ops/logger.js';

/** One earlier state of the config: its document, the schema version it declares, and where it was found. */
export interface EarlierState {
  doc: JsonObject;
  version: number | undefined;
  /** A path or a name an operator can find it by. */
  source: string;
}

/** Earlier states, newest first. */
export type EarlierStates = () => AsyncIterable<EarlierState>;

/** The last committed state the previous owner's journal records (none without a journal, or when it cannot be rebuilt). */
export function journalState(journal: JournalContents | undefined, log: Logger): EarlierStates {
  return async function* () {
    if (journal === undefined) return;
    let doc: JsonObject = {};
    let version: number | undefined;
    if (journal.baseBytes === undefined) {
      log.warn({ journal: journal.path, problem: journal.baseProblem }, 'the commit journal\'s checkpoint is unusable; skipped');
      return;
    }
    if (journal.baseBytes !== null) {
      const checked = checkText(journal.baseBytes);
      const split = typeof checked === 'string' ? undefined : splitMeta(checked.doc);
      const problem = typeof checked === 'string' ? checked : split!.problem;
      if (problem !== undefined) {
        log.warn({ journal: journal.path, problem }, 'the commit journal\'s checkpoint is unusable; skipped');
        return;
      }
      doc = split!.doc;
      version = split!.version;
    }
    try {
      doc = replayCommits(doc, journal.commits);
    } catch (error) {
      log.warn({ journal: journal.path, err: error }, 'the commit journal does not apply to its checkpoint; skipped');
      return;
    }
    yield { doc, version: journal.commits.at(-1)?.version ?? version, source: `the last committed state (${journal.path})` };
  };
}

/** Several sources of earlier states, in order. */
export function chainStates(...sources: EarlierStates[]): EarlierStates {
  return async function* () {
    for (const source of sources) yield* source();
  };
}

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
