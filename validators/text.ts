// Strings with rules: a regular expression that compiles, bounded lengths
// with messages that give the bound and the actual size (seeds 000 #20, #23).
import { z } from 'zod';

/** A regular expression source that compiles with `flags`; the error is the engine's. */
export function regexPattern(options: { flags?: string; maxLength?: number } = {}) {
  const maxLength = options.maxLength ?? 1000;
  return boundedString({ max: maxLength }).superRefine((value, ctx) => {
    try {
      new RegExp(value, options.flags);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}`, input: value });
    }
  });
}

/** A string of at most `max` (and at least `min`) characters. */
export function boundedString(options: { max: number; min?: number }) {
  const min = options.min ?? 0;
  return z.string().superRefine((value, ctx) => {
    if (value.length > options.max) ctx.addIssue({ code: 'custom', message: `is ${value.length} characters long; at most ${options.max} are allowed`, input: value });
    else if (value.length < min) ctx.addIssue({ code: 'custom', message: `is ${value.length} characters long; at least ${min} are needed`, input: value });
  });
}

/** An array of `item` with at most `max` (and at least `min`) elements. */
export function boundedArray<T extends z.ZodType>(item: T, options: { max: number; min?: number }) {
  const min = options.min ?? 0;
  return z.array(item).superRefine((value, ctx) => {
    if (value.length > options.max) ctx.addIssue({ code: 'custom', message: `has ${value.length} items; at most ${options.max} are allowed`, input: value });
    else if (value.length < min) ctx.addIssue({ code: 'custom', message: `has ${value.length} items; at least ${min} are needed`, input: value });
  });
}
