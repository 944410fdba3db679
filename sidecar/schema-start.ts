// What a schema decides at start: whether the file must be migrated to the
// schema's version (after the start-up backup, as one revision), served
// read-only because it comes from a newer version, or refused because it
// does not match. A refused or failed start leaves the file untouched.
import { ErrorCode, ProtocolError, type WriteOp } from '../protocol/index.js';
import { checkText, StartupError, type ConfigFile, type LoadedConfig } from './config-file.js';
import type { ConfigSchema } from './config-schema.js';
import { diffOps } from './diff-ops.js';
import type { JsonObject } from './document.js';
import type { CommitQueue } from './commit-queue.js';
import type { FsOps } from './fs-ops.js';
import type { Health } from './health.js';
import { writeJsonSchemaFile } from './json-schema-file.js';
import type { Logger } from './logger.js';

export interface SchemaStart {
  /** What readers see of the loaded document (undefined: the document as it is). */
  view: JsonObject | undefined;
  /** Writes that bring the file to the schema's version, committed as one revision before serving. */
  migration?: { ops: WriteOp[]; from: number; to: number };
  /** Why writes are refused (a file from a newer schema version). */
  readOnly?: string;
}

export async function prepareSchema(schema: ConfigSchema, loaded: LoadedConfig, configPath: string, log: Logger): Promise<SchemaStart> {
  const target = schema.version;
  // A new file starts at the current version; an existing one without "$schemaVersion" predates versioning: 0.
  const fileVersion = target === undefined ? undefined : loaded.existed ? (loaded.fileVersion ?? 0) : target;
  if (target !== undefined && fileVersion !== undefined && fileVersion > target) {
    const readOnly = `${configPath} is at schema version ${fileVersion}, newer than ${target} of ${schema.source}: served read-only, never downgraded`;
    log.warn({ config: configPath, fileVersion, schemaVersion: target }, 'file from a newer schema version: read-only');
    return { view: await viewIfValid(schema, loaded.doc, log), readOnly };
  }
  let doc = loaded.doc;
  if (target !== undefined && fileVersion !== undefined && fileVersion < target) doc = await migrate(schema, doc, fileVersion, target, configPath);
  const migrated = doc !== loaded.doc;
  let view: JsonObject;
  try {
    view = await schema.validate(doc);
  } catch (error) {
    if (!(error instanceof ProtocolError) || error.code !== ErrorCode.VALIDATION_FAILED) throw error;
    throw new StartupError(
      `${configPath}${migrated ? ` migrated to schema version ${target}` : ''} does not match the schema ${schema.source}: ${error.message.replace(/; nothing was applied$/, '')}. ` +
        `The file was left untouched: fix it${target === undefined ? '' : ', or add a migration'}.`,
    );
  }
  if (!migrated && (fileVersion === target || target === undefined)) return { view };
  return { view, migration: { ops: diffOps(loaded.doc, doc), from: fileVersion!, to: target! } };
}

/** The view of a document that may not match (a newer version's file); undefined when it does not. */
async function viewIfValid(schema: ConfigSchema, doc: JsonObject, log: Logger): Promise<JsonObject | undefined> {
  try {
    return await schema.validate(doc);
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
): Promise<void> {
  await writeJsonSchemaFile(ctx.file.configPath, schema, ctx.fs, ctx.log);
  if (start.readOnly !== undefined) {
    ctx.health.readOnly = start.readOnly;
    ctx.queue.refuseWrites(new ProtocolError(ErrorCode.READ_ONLY, start.readOnly));
    return;
  }
  if (start.migration === undefined) return;
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
}
