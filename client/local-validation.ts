// A typed client checks a write against its schema before sending it, so a
// wrong value fails at the call with the same VALIDATION_FAILED the sidecar
// would give, without a round trip. Only the value's own schema is checked
// here (found by walking the schema along the path); rules spanning the whole
// document are the sidecar's to check.
import type { z } from 'zod';
import { ErrorCode } from '../protocol/errors.js';
import { describeIssues, toValidationIssues } from '../protocol/validation-issues.js';
import { ConfigSidecarError } from './client-errors.js';

/** The internal definition zod 4 keeps on every schema (`schema._zod.def`), as far as walking needs it. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType | null;
  getter?: () => z.ZodType;
}

const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema for the value at `segments`, or undefined where the schema does not say (unions, unknown keys). */
export function schemaAt(root: z.ZodType, segments: readonly string[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = root;
  for (const segment of segments) {
    schema = schema === undefined ? undefined : child(unwrap(schema), segment);
    if (schema === undefined) return undefined;
  }
  return schema;
}

/** Through wrappers that don't change what lies below: optional, nullable, default, readonly, catch, lazy, a pipe's input. */
function unwrap(schema: z.ZodType): z.ZodType {
  for (let d = def(schema); ; d = def(schema)) {
    const inner = d.innerType ?? d.in ?? d.getter?.();
    if (inner === undefined) return schema;
    schema = inner;
  }
}

function child(schema: z.ZodType, segment: string): z.ZodType | undefined {
  const d = def(schema);
  switch (d.type) {
    case 'object':
      return Object.hasOwn(d.shape!, segment) ? d.shape![segment] : undefined;
    case 'record':
      return d.valueType;
    case 'array':
      return d.element;
    case 'tuple':
      return d.items![Number(segment)] ?? d.rest ?? undefined;
    default:
      return undefined;
  }
}

/** Rejects with VALIDATION_FAILED (issue paths from the document root) when `value` does not fit the schema at `segments`. */
export async function checkValue(root: z.ZodType, segments: readonly string[], value: unknown): Promise<void> {
  const schema = schemaAt(root, segments);
  if (schema === undefined) return;
  const result = await schema.safeParseAsync(value);
  if (result.success) return;
  const issues = toValidationIssues(segments, result.error.issues);
  throw new ConfigSidecarError(ErrorCode.VALIDATION_FAILED, `${describeIssues(issues)}; nothing was sent`, { issues });
}
