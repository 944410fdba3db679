// Strings with rules: a regular expression that compiles, bounded lengths
// with messages that give the bound and the actual size (docs/defects.md, D17, D20).
// Lengths are zod's own checks, so the JSON Schema carries them (maxLength,
// maxItems...).
import { z } from 'zod';

/** A regular expression source that compiles with `flags`; the error is the engine's. */
export function regexPattern(options: { flags?: string; maxLength?: number } = {}) {
  const maxLength = options.maxLength ?? 1000;
  const flags = options.flags ? ` with flags "${options.flags}"` : '';
  return boundedString({ max: maxLength })
    .superRefine((value, ctx) => {
      try {
        new RegExp(value, options.flags);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}`, input: value });
      }
    })
    .meta({ description: `a JavaScript regular expression${flags}` });
}

/** A string of at most `max` (and at least `min`) characters (UTF-16 code units, as String.length counts). */
export function boundedString(options: { max: number; min?: number }) {
  const length = (issue: { input?: unknown }) => (issue.input as string).length;
  let schema = z.string().max(options.max, { error: (issue) => `is ${length(issue)} characters long; at most ${options.max} are allowed` });
  const min = options.min ?? 0;
  if (min > 0) schema = schema.min(min, { error: (issue) => `is ${length(issue)} characters long; at least ${min} are needed` });
  return schema;
}

/** An array of `item` with at most `max` (and at least `min`) elements. */
export function boundedArray<T extends z.ZodType>(item: T, options: { max: number; min?: number }) {
  const count = (issue: { input?: unknown }) => (issue.input as unknown[]).length;
  let schema = z.array(item).max(options.max, { error: (issue) => `has ${count(issue)} items; at most ${options.max} are allowed` });
  const min = options.min ?? 0;
  if (min > 0) schema = schema.min(min, { error: (issue) => `has ${count(issue)} items; at least ${min} are needed` });
  return schema;
}
