// The schema hash both sides compare at hello: sha256 of the schema's JSON
// Schema (input side, keys sorted), so a client built against one schema
// notices a sidecar serving another (SCHEMA_MISMATCH) instead of failing
// later on a value it did not expect. Custom checks (refinements, the
// validators) are not part of JSON Schema and do not change the hash.
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** 16 hex characters; "unrepresentable" for a schema zod cannot put in JSON Schema (then only that is compared). */
export function schemaHash(schema: z.ZodType): string {
  let json: unknown;
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', cycles: 'ref' });
  } catch (error) {
    // Never fail a hello over this: two such schemas compare equal, which is the most that can be said.
    if (!(error instanceof Error)) throw error;
    return 'unrepresentable';
  }
  return createHash('sha256').update(canonicalJson(json)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every level: the same schema always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
