// `<config>.schema.json` beside the config: the schema in JSON Schema form, so
// editors complete and check the file by hand. Rewritten only when it differs.
import { readFile } from 'node:fs/promises';
import type { ConfigSchema } from './config-schema.js';
import { durableReplace } from '../disk/durable-write.js';
import { jsonSchemaPathFor } from '../file/file-envelope.js';
import type { FsOps } from '../disk/fs-ops.js';
import type { Logger } from '../ops/logger.js';

export async function writeJsonSchemaFile(configPath: string, schema: ConfigSchema, fs: FsOps, log: Logger): Promise<void> {
  const target = jsonSchemaPathFor(configPath);
  const json = schema.jsonSchema();
  // The file's own keys must pass an editor's check of a closed object too.
  if (typeof json.properties === 'object' && json.properties !== null) {
    json.properties = {
      $schema: { type: 'string', description: 'the JSON Schema of this file (kept by config-sidecar)' },
      $schemaVersion: { type: 'integer', description: 'the schema version this file follows (kept by config-sidecar)' },
      ...json.properties,
    };
  }
  const text = JSON.stringify(json, null, 2) + '\n';
  try {
    const current = await readFile(target, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (current === text) return;
    await durableReplace(target, Buffer.from(text), { fs, mode: 0o644 });
    log.info({ path: target }, 'wrote the JSON Schema for editors');
  } catch (error) {
    // Editors lose completion, nothing else: the config itself is unaffected.
    log.warn({ err: error, path: target }, 'could not write the JSON Schema beside the config');
  }
}
