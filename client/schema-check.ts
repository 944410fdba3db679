// What a client given a schema loads (with zod): the schema's hash, compared
// with the one the sidecar announces in hello, and the local check of writes.
import type { z } from 'zod';
import { schemaHash } from '../protocol/schema-hash.js';
import { checkValue } from './local-validation.js';

export interface SchemaCheck {
  hash: string;
  checkValue(segments: readonly string[], value: unknown): Promise<void>;
}

export function prepareSchemaCheck(schema: z.ZodType): SchemaCheck {
  return { hash: schemaHash(schema), checkValue: (segments, value) => checkValue(schema, segments, value) };
}
