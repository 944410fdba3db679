// A config schema in force: the zod schema every document must pass, the
// version the file should be at, and the migrations that get it there.
// Loaded from an ES module (`schema` or default export, optional
// `schemaVersion` and `migrations`) or from a JSON Schema file.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ErrorCode, ProtocolError, describeIssues, formatPath, getAt, isPlainObject, toValidationIssues, type ValidationIssue } from '../../protocol/index.js';
import { schemaHash } from '../../protocol/schema-hash.js';
import { isDiskCheckIssue, toleratingDiskFailures } from '../../validators/disk-checks.js';
import type { JsonObject } from '../store/document.js';
import { installSchemaImportFallback } from './schema-imports.js';

/** A document that passed: what readers see, and the values it already held that fail a disk check now. */
export interface CheckedDocument {
  view: JsonObject;
  stale: ValidationIssue[];
}

/** Turns a document of version `to - 1` into version `to`. */
export type Migration = (doc: JsonObject) => JsonObject | Promise<JsonObject>;

export class ConfigSchema {
  private constructor(
    /** Where it was loaded from. */
    readonly source: string,
    private readonly zod: z.ZodType,
    /** The version files are upgraded to; undefined when the schema is not versioned. */
    readonly version: number | undefined,
    /** Keyed by the version each one produces. */
    readonly migrations: ReadonlyMap<number, Migration>,
  ) {}

  private hashed: string | undefined;
  /** The hash announced in hello, which a client given a schema compares with its own (protocol/schema-hash.ts). */
  get hash(): string {
    return (this.hashed ??= schemaHash(this.zod));
  }

  /** Loads `file`: `.json` as JSON Schema, anything else as an ES module. Throws an Error saying what is wrong. */
  static async load(file: string): Promise<ConfigSchema> {
    const source = path.resolve(file);
    if (source.endsWith('.json')) return ConfigSchema.fromJsonSchemaFile(source);
    let exports: Record<string, unknown>;
    // zod and config-sidecar/validators come from this installation when nothing beside the module has them.
    installSchemaImportFallback();
    try {
      exports = (await import(pathToFileURL(source).href)) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`cannot load the schema module ${source}: ${(error as Error).message}`);
    }
    const schema = exports.schema ?? exports.default;
    if (!isZodSchema(schema)) throw new Error(`${source} exports no zod schema (export it as \`schema\` or as the default export)`);
    const version = exports.schemaVersion;
    if (version !== undefined && !(Number.isSafeInteger(version) && (version as number) >= 1)) {
      throw new Error(`${source}: schemaVersion must be an integer >= 1, got ${JSON.stringify(version)}`);
    }
    return new ConfigSchema(source, schema, version as number | undefined, checkMigrations(source, exports.migrations, version as number | undefined));
  }

  /** For tests and embedding: a schema given as a value. */
  static of(schema: z.ZodType, options: { version?: number; migrations?: Record<number, Migration>; source?: string } = {}): ConfigSchema {
    const source = options.source ?? '(inline schema)';
    return new ConfigSchema(source, schema, options.version, checkMigrations(source, options.migrations, options.version));
  }

  private static async fromJsonSchemaFile(source: string): Promise<ConfigSchema> {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(source, 'utf8'));
    } catch (error) {
      throw new Error(`cannot read the JSON Schema ${source}: ${(error as Error).message}`);
    }
    if (!isPlainObject(json)) throw new Error(`${source} is not a JSON Schema (the top level is not an object)`);
    try {
      return new ConfigSchema(source, z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]), undefined, new Map());
    } catch (error) {
      throw new Error(`${source} is not a usable JSON Schema: ${(error as Error).message}`);
    }
  }

  /**
   * Checks a whole document; resolves with what readers see (defaults filled
   * in, transforms applied) or rejects with VALIDATION_FAILED listing every
   * issue's path and message. Every disk check counts.
   */
  async validate(doc: JsonObject): Promise<JsonObject> {
    const result = await this.zod.safeParseAsync(doc);
    if (!result.success) throw validationFailed(toValidationIssues([], result.error.issues));
    return this.checkedView(result.data);
  }

  /**
   * Checks `doc`, which replaces `previous`. A disk check (an existing
   * directory, an executable) counts only for a value `previous` did not hold
   * at the same place (the same key, or anywhere in the same array): a value
   * already there that fails one now does not refuse the write, and comes
   * back in `stale` for health (docs/decisions.md, schemas). At start,
   * `previous` is the document itself: nothing in the file is refused for
   * what the disk says.
   */
  async check(doc: JsonObject, previous: JsonObject): Promise<CheckedDocument> {
    const strict = await this.zod.safeParseAsync(doc);
    if (strict.success) return { view: this.checkedView(strict.data), stale: [] };
    const held = (issue: z.core.$ZodIssue) => isDiskCheckIssue(issue) && heldBefore(doc, previous, issue.path.map(String));
    const stale = strict.error.issues.filter(held);
    if (stale.length === 0 || stale.length < strict.error.issues.filter(isDiskCheckIssue).length) {
      throw validationFailed(toValidationIssues([], strict.error.issues.filter((issue) => !held(issue))));
    }
    // Every failed disk check is on a value held before: judge the rest with those values as they are.
    const tolerant = await toleratingDiskFailures(() => this.zod.safeParseAsync(doc));
    if (!tolerant.success) throw validationFailed(toValidationIssues([], tolerant.error.issues));
    return { view: this.checkedView(tolerant.data), stale: toValidationIssues([], stale) };
  }

  private checkedView(view: unknown): JsonObject {
    if (!isPlainObject(view)) throw new ProtocolError(ErrorCode.INTERNAL, `the schema ${this.source} turns the document into something other than an object`);
    const bad = nonJsonAt(view, []);
    if (bad !== undefined) {
      throw new ProtocolError(ErrorCode.INTERNAL, `the schema ${this.source} produces a value that is not JSON at ${formatPath(bad) || '(root)'}`);
    }
    return view;
  }

  /** The JSON Schema of what the file may hold (input side: defaults are optional), for editors. */
  jsonSchema(): Record<string, unknown> {
    return z.toJSONSchema(this.zod, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  }
}

/** VALIDATION_FAILED with each issue in the message and in `details.issues`. */
export function validationFailed(issues: ValidationIssue[]): ProtocolError {
  return new ProtocolError(ErrorCode.VALIDATION_FAILED, `${describeIssues(issues)}; nothing was applied`, { issues });
}

/** Whether the value at `at` in `doc` was in `previous` already: at the same key, or anywhere in the same array. */
function heldBefore(doc: JsonObject, previous: JsonObject, at: string[]): boolean {
  const value = getAt(doc, at);
  if (at.length === 0 || value === undefined) return false;
  const before = getAt(previous, at.slice(0, -1));
  if (Array.isArray(before)) return before.includes(value);
  return getAt(previous, at) === value;
}

function isZodSchema(value: unknown): value is z.ZodType {
  // Duck-typed: the schema module may import its own copy of zod 4.
  return typeof value === 'object' && value !== null && '_zod' in value && typeof (value as { safeParseAsync?: unknown }).safeParseAsync === 'function';
}

function checkMigrations(source: string, migrations: unknown, version: number | undefined): Map<number, Migration> {
  const out = new Map<number, Migration>();
  if (migrations === undefined) return out;
  if (version === undefined) throw new Error(`${source} exports migrations but no schemaVersion`);
  if (!isPlainObject(migrations)) throw new Error(`${source}: migrations must be an object of functions keyed by the version each produces`);
  for (const [key, migrate] of Object.entries(migrations)) {
    const to = Number(key);
    if (!Number.isSafeInteger(to) || to < 1 || to > version) throw new Error(`${source}: migration "${key}" is not a version between 1 and ${version}`);
    if (typeof migrate !== 'function') throw new Error(`${source}: migration ${key} is not a function`);
    out.set(to, migrate as Migration);
  }
  return out;
}

/** The path of the first value that JSON cannot hold (Date, bigint, Map, NaN, undefined in an array...). */
function nonJsonAt(value: unknown, at: string[]): string[] | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : at;
    case 'object':
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const bad = nonJsonAt(value[i], [...at, String(i)]);
          if (bad !== undefined) return bad;
        }
        return undefined;
      }
      if (!isPlainObject(value)) return at;
      for (const [key, child] of Object.entries(value)) {
        if (child === undefined) continue; // an optional key left out: JSON drops it too
        const bad = nonJsonAt(child, [...at, key]);
        if (bad !== undefined) return bad;
      }
      return undefined;
    default:
      return at;
  }
}
