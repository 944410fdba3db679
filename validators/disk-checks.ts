// Checks that depend on the machine (does this directory exist, can this
// program run) judge a value when it is written; a value already in the
// config that stops passing one (the directory was removed later) must not
// make every unrelated write, or the next start, fail. So their failures are
// marked (`params.diskCheck`), and a validation can be run tolerating them:
// the value then passes as written. The sidecar decides which failures count
// (docs/decisions.md, schemas). The mode is shared through a global symbol,
// so a schema module that imports its own copy of these validators obeys it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { z } from 'zod';

const MODE = Symbol.for('config-sidecar.validators.diskChecks');
const holder = globalThis as { [MODE]?: AsyncLocalStorage<'tolerate'> };
const storage = (holder[MODE] ??= new AsyncLocalStorage<'tolerate'>());

/** Runs `validate` with disk-check failures tolerated: the values concerned pass as they are. */
export function toleratingDiskFailures<T>(validate: () => T): T {
  return storage.run('tolerate', validate);
}

/** A failed disk check: an issue (marked as such), or nothing when failures are tolerated. Returns whether it was tolerated. */
export function diskCheckFailed(ctx: z.core.$RefinementCtx, value: string, message: string): boolean {
  if (storage.getStore() === 'tolerate') return true;
  ctx.addIssue({ code: 'custom', message, input: value, params: { diskCheck: true } });
  return false;
}

/** Whether a zod issue comes from a disk check. */
export function isDiskCheckIssue(issue: { code?: string; params?: unknown }): boolean {
  return issue.code === 'custom' && (issue.params as { diskCheck?: unknown } | undefined)?.diskCheck === true;
}
