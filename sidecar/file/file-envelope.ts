// With a schema in force the file carries two keys the sidecar keeps for
// itself, first in the file: "$schema" points editors at the JSON Schema
// written beside the config, "$schemaVersion" records which version of the
// schema the content follows (so an old file is migrated and a newer one is
// never downgraded). Neither is part of the document clients see.
import path from 'node:path';
import type { JsonObject } from '../store/document.js';

export const META_KEYS = ['$schema', '$schemaVersion'] as const;

/** What the sidecar adds to the file. */
export interface FileMeta {
  /** Relative reference to the JSON Schema file, for editors. */
  schemaRef: string;
  /** Written when the schema is versioned. */
  schemaVersion?: number;
}

/** `config.json` → `config.schema.json` beside it. */
export function jsonSchemaPathFor(configPath: string): string {
  const base = path.basename(configPath).replace(/\.json$/i, '');
  return path.join(path.dirname(configPath), `${base}.schema.json`);
}

export function fileMetaFor(configPath: string, schemaVersion: number | undefined): FileMeta {
  return { schemaRef: `./${path.basename(jsonSchemaPathFor(configPath))}`, ...(schemaVersion === undefined ? {} : { schemaVersion }) };
}

/** The document without the sidecar's keys, and the version the file declares (undefined: none, an unversioned file). */
export function splitMeta(parsed: JsonObject): { doc: JsonObject; version: number | undefined; problem?: string } {
  if (!META_KEYS.some((key) => Object.hasOwn(parsed, key))) return { doc: parsed, version: undefined };
  const { $schema: _ref, $schemaVersion: version, ...doc } = parsed;
  if (version === undefined) return { doc, version: undefined };
  if (!Number.isSafeInteger(version) || (version as number) < 0) {
    return { doc, version: undefined, problem: `"$schemaVersion" must be a non-negative integer, got ${JSON.stringify(version)}` };
  }
  return { doc, version: version as number };
}

/** Puts the meta keys at the top of the rendered document text (`{…}\n`, two-space indent). */
export function withMeta(text: string, meta: FileMeta): string {
  const lines = [`  "$schema": ${JSON.stringify(meta.schemaRef)}`];
  if (meta.schemaVersion !== undefined) lines.push(`  "$schemaVersion": ${meta.schemaVersion}`);
  const head = lines.join(',\n');
  // An empty document renders as "{}\n".
  if (text === '{}\n') return `{\n${head}\n}\n`;
  return `{\n${head},\n${text.slice(2)}`;
}
