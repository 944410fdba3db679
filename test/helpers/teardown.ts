// Teardown steps that must run in a fixed order and must never hang: a
// process must be gone before the file system it has files open on is
// unmounted, and the mount gone before its directory is removed. node:test
// runs t.after hooks in registration order, so one hook runs the steps here,
// last deferred first, each with its own time bound; a step that fails does
// not stop the ones after it, and every failure is reported.
import type { ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';

export interface Teardown {
  /** Runs `step` at the end of the test, before every step deferred earlier. */
  defer(name: string, step: () => unknown, timeoutMs?: number): void;
}

export function teardown(t: TestContext): Teardown {
  const steps: { name: string; step: () => unknown; timeoutMs: number }[] = [];
  t.after(async () => {
    const failures: Error[] = [];
    for (const { name, step, timeoutMs } of steps.reverse()) {
      try {
        await within(Promise.resolve().then(step), timeoutMs, `teardown step "${name}"`);
      } catch (error) {
        failures.push(new Error(`teardown step "${name}" failed: ${(error as Error).message}`, { cause: error }));
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, failures.map((failure) => failure.message).join('; '));
  });
  return {
    defer(name, step, timeoutMs = 15_000) {
      steps.push({ name, step, timeoutMs });
    },
  };
}

/** `promise`, or a rejection naming `what` once `timeoutMs` has passed. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Stops a process: SIGTERM, a bounded wait, then SIGKILL and another bounded
 * wait. Resolves with how it ended; rejects only if even SIGKILL did not end it.
 */
export async function stopWithin(
  child: ChildProcess,
  exited: Promise<number | string>,
  termMs = 5000,
  killMs = 5000,
): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  // The only way `exited` can fail to settle in time is the process ignoring or not reaching SIGTERM.
  const ended = await within(exited, termMs, 'SIGTERM').then(
    (how) => ({ how }),
    () => undefined,
  );
  if (ended !== undefined) return ended.how;
  child.kill('SIGKILL');
  return within(exited, killMs, `process ${child.pid} after SIGKILL`);
}
