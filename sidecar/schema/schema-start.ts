// What a schema decides at start: whether the file must be migrated to the
// schema's version (after the start-up backup, as one revision), or served
// read-only because it comes from a newer version, or because it does not
// match (then the newest earlier state that does is served). Values that
// fail only a disk check are kept and reported. A start refused (nothing
// matches) or failed leaves the file untouched.
import { ErrorCode, ProtocolError, type ValidationIssue, type WriteOp } from '../../protocol/index.js';
import { checkText, StartupError, type ConfigFile, type LoadedConfig } from '../file/config-file.js';
import type { ConfigSchema } from './config-schema.js';
import { diffOps } from '../store/diff-ops.js';
import type { JsonObject } from '../store/document.js';
import type { CommitQueue } from '../store/commit-queue.js';
import type { FsOps } from '../disk/fs-ops.js';
import type { Health } from '../ops/health.js';
import { writeJsonSchemaFile } from './json-schema-file.js';
import type { Logger } from '../ops/logger.js';
import { newestMatchingState, type EarlierStates } from './matching-state.js';
import { SchemaFallback } from './schema-fallback.js';
import { StaleValues } from './stale-values.js';

export interface SchemaStart {
  /** What readers see of the loaded document (undefined: the document as it is). */
  view: JsonObject | undefined;
  /** Writes that bring the file to the schema's version, committed as one revision before serving. */
  migration?: { ops: WriteOp[]; from: number; to: number };
  /** Why writes are refused (a file from a newer schema version). */
  readOnly?: string;
  /** Values in the served document that fail a disk check now. */
  stale: ValidationIssue[];
  /** The file does not match: this earlier document is served read-only instead. */
  fallback?: { doc: JsonObject; mismatch: string; remedy: string };
}

/** What a schema start leaves running: the read-only fallback's exit and the stale-value report. */
export interface SchemaRunning {
  /** A revision was committed. */
  committed(): void;
  /** A re-read found the file holding exactly the served document. */
  fileAgrees(): void;
  /** Brings health's view of stale values up to date (health is about to answer). */
  refreshHealth(): Promise<void>;
}

export async function prepareSchema(
  schema: ConfigSchema,
  loaded: LoadedConfig,
  configPath: string,
  log: Logger,
  /** Where a file that does not match is served from instead (matching-state.ts). */
  earlier: EarlierStates,
): Promise<SchemaStart> {
  const target = schema.version;
  // A new file starts at the current version; an existing one without "$schemaVersion" predates versioning: 0.
  const fileVersion = target === undefined ? undefined : loaded.existed ? (loaded.fileVersion ?? 0) : target;
  if (target !== undefined && fileVersion !== undefined && fileVersion > target) {
    const readOnly = `${configPath} is at schema version ${fileVersion}, newer than ${target} of ${schema.source}: served read-only, never downgraded`;
    log.warn({ config: configPath, fileVersion, schemaVersion: target }, 'file from a newer schema version: read-only');
    return { view: await viewIfValid(schema, loaded.doc, log), readOnly, stale: [] };
  }
  let doc = loaded.doc;
  if (target !== undefined && fileVersion !== undefined && fileVersion < target) doc = await migrate(schema, doc, fileVersion, target, configPath);
  const migrated = doc !== loaded.doc;
  let checked;
  try {
    // Everything in the file is there already: a disk check failing on it is reported, not refused.
    checked = await schema.check(doc, doc);
  } catch (error) {
    if (!(error instanceof ProtocolError) || error.code !== ErrorCode.VALIDATION_FAILED) throw error;
    const what = `${configPath}${migrated ? ` migrated to schema version ${target}` : ''} does not match the schema ${schema.source}: ${error.message.replace(/; nothing was applied$/, '')}`;
    const found = await newestMatchingState(schema, earlier, log);
    if (found === undefined) {
      throw new StartupError(`${what}. No backup matches the schema either. The file was left untouched: fix it${target === undefined ? '' : ', or add a migration'}.`);
    }
    return {
      view: found.checked.view,
      stale: found.checked.stale,
      fallback: {
        doc: found.state.doc,
        mismatch: `${what}; serving ${found.state.source} instead`,
        remedy: 'the file is corrected (an edit is picked up while running) or `config-sidecar restore N` brings a backup back (`config-sidecar backups` lists them)',
      },
    };
  }
  const { view, stale } = checked;
  if (!migrated && (fileVersion === target || target === undefined)) return { view, stale };
  return { view, stale, migration: { ops: diffOps(loaded.doc, doc), from: fileVersion!, to: target! } };
}

/** The view of a document that may not match (a newer version's file); undefined when it does not. */
async function viewIfValid(schema: ConfigSchema, doc: JsonObject, log: Logger): Promise<JsonObject | undefined> {
  try {
    return (await schema.check(doc, doc)).view;
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    log.warn({ reason: error.message }, 'the newer file does not match this schema: served without defaults');
    return undefined;
  }
}

async function migrate(schema: ConfigSchema, start: JsonObject, from: number, to: number, configPath: string): Promise<JsonObject> {
  let doc = start;
  for (let version = from + 1; version <= to; version++) {
    const step = schema.migrations.get(version);
    if (step === undefined) continue; // this version changed nothing in the file's shape
    let out: unknown;
    try {
      out = await step(structuredClone(doc));
    } catch (error) {
      throw new StartupError(`migration to schema version ${version} (${schema.source}) failed: ${(error as Error).message}; ${configPath} was left untouched`);
    }
    const checked = usableDocument(out);
    if (typeof checked === 'string') {
      throw new StartupError(`migration to schema version ${version} (${schema.source}) returned an unusable document (${checked}); ${configPath} was left untouched`);
    }
    doc = checked.doc;
  }
  return doc;
}


/** Whatever a migration built must be a config the file can hold: the document, or why not. */
function usableDocument(out: unknown): { doc: JsonObject } | string {
  if (out === undefined) return 'it returned nothing';
  let text: string;
  try {
    text = JSON.stringify(out);
  } catch (error) {
    return `JSON cannot hold it: ${(error as Error).message}`;
  }
  return checkText(Buffer.from(text));
}

/** Before serving: the migration revision (or read-only mode), and the JSON Schema file for editors. */
export async function applySchemaStart(
  schema: ConfigSchema,
  start: SchemaStart,
  ctx: { file: ConfigFile; queue: CommitQueue; health: Health; fs: FsOps; log: Logger },
): Promise<SchemaRunning> {
  await writeJsonSchemaFile(ctx.file.configPath, schema, ctx.fs, ctx.log);
  const staleValues = new StaleValues(schema, ctx.file.configPath, () => ctx.queue.committed.doc, ctx.health, ctx.log);
  staleValues.record(start.stale);
  let fallback: SchemaFallback | undefined;
  const running: SchemaRunning = {
    committed: () => fallback?.leave('a write replaced the file with a matching document'),
    fileAgrees: () => fallback?.leave('the file was edited to hold the served document'),
    refreshHealth: () => staleValues.refresh(),
  };
  if (start.fallback !== undefined) {
    await keepMismatchingFile(ctx);
    fallback = new SchemaFallback(start.fallback.mismatch, start.fallback.remedy, ctx.queue, ctx.health, ctx.log);
    fallback.enter();
    return running;
  }
  if (start.readOnly !== undefined) {
    ctx.health.readOnly = start.readOnly;
    ctx.queue.refuseWrites(new ProtocolError(ErrorCode.READ_ONLY, start.readOnly));
    return running;
  }
  if (start.migration === undefined) {
    // Only a file that matches becomes a backup: backups are what a mismatching file is served from.
    await ctx.file.backupLoaded().catch((error: unknown) => ctx.log.warn({ err: error }, 'could not keep a backup of the config'));
    return running;
  }
  const { from, to, ops } = start.migration;
  try {
    await ctx.file.backupLoaded();
  } catch (error) {
    throw new StartupError(`cannot keep a backup of ${ctx.file.configPath} before migrating it: ${(error as Error).message}; nothing was changed`);
  }
  try {
    const { revision } = await ctx.queue.submit(ops, 'migration');
    ctx.log.info({ config: ctx.file.configPath, from, to, revision, paths: ops.length }, 'migrated the config to the schema version');
  } catch (error) {
    throw new StartupError(`migrating ${ctx.file.configPath} from schema version ${from} to ${to} could not be saved: ${(error as Error).message}`);
  }
  return running;
}

/** A copy of the mismatching file in quarantine/: a restore replaces the file, and its text must not be lost. */
async function keepMismatchingFile(ctx: { file: ConfigFile; fs: FsOps; log: Logger }): Promise<void> {
  try {
    const keptAt = await ctx.file.keepRejected(await ctx.fs.readFile(ctx.file.configPath));
    ctx.log.warn({ keptAt }, 'the mismatching config file is kept in quarantine');
  } catch (error) {
    // The file itself stays where it is until a repairing write replaces it.
    ctx.log.error({ err: error }, 'could not keep a copy of the mismatching config file');
  }
}
