// The worker side of the runner <-> worker protocol. A worker process sets
// itself up, says `ready` on stdout, waits for `go` on stdin (so all load
// processes start together), does bounded work, prints its `result` and
// exits. It exits by itself when stdin closes (the runner is gone) or when
// its own deadline passes, so no worker can outlive a run.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

/** Prefix of protocol lines on a worker's stdout; anything else there is ignored. */
export const LINE_PREFIX = '@bench ';

export type WorkerLine = { type: 'ready' } | { type: 'result'; result: unknown } | { type: 'failed'; message: string };

type OptionSpec = Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>;

export type WorkerArgs = Record<string, string | boolean | undefined>;

export interface Worker {
  /** Parsed --options. */
  values: WorkerArgs;
  /** Says ready and resolves when the runner says go. */
  ready(): Promise<void>;
  /** Prints the result and exits 0. */
  /** Sends the result and exits once it has been handed to the pipe (a large result takes several writes). */
  finish(result: unknown): Promise<never>;
}

/**
 * Starts the worker protocol: parses argv with `options` (plus --deadline-ms),
 * arms the deadline and the stdin watch. Unhandled errors are reported as
 * `failed` and exit non-zero.
 */
export function startWorker(name: string, options: OptionSpec): Worker {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { ...options, 'deadline-ms': { type: 'string', default: '120000' } } });
  const deadlineMs = Number(values['deadline-ms']);
  const fail = (message: string, code: number): never => {
    writeLine({ type: 'failed', message: `${name}: ${message}` });
    process.exit(code);
  };
  const deadline = setTimeout(() => fail(`still running after its deadline of ${deadlineMs} ms`, 3), deadlineMs);
  deadline.unref();
  process.on('uncaughtException', (error) => fail(error.stack ?? String(error), 1));
  process.on('unhandledRejection', (error) => fail((error as Error)?.stack ?? String(error), 1));

  let go: (() => void) | undefined;
  let started = false;
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'go' && !started) {
      started = true;
      go?.();
    }
  });
  // The runner closed our stdin or died: stop at once.
  lines.on('close', () => process.exit(started ? 4 : 2));

  return {
    values: values as WorkerArgs,
    ready: () =>
      new Promise<void>((resolve) => {
        go = resolve;
        writeLine({ type: 'ready' });
      }),
    finish: (result) =>
      new Promise<never>(() => {
        writeLine({ type: 'result', result }, () => process.exit(0));
      }),
  };
}

function writeLine(line: WorkerLine, written?: () => void): void {
  // A child's stdout is a socket pair here, written asynchronously: exit only once the line is out.
  process.stdout.write(LINE_PREFIX + JSON.stringify(line) + '\n', written);
}

/** A required numeric option. */
export function numberArg(values: WorkerArgs, key: string): number {
  const n = Number(values[key]);
  if (values[key] === undefined || !Number.isFinite(n)) throw new Error(`--${key} must be a number (got ${String(values[key])})`);
  return n;
}

/** A required string option. */
export function stringArg(values: WorkerArgs, key: string): string {
  const v = values[key];
  if (typeof v !== 'string' || v.length === 0) throw new Error(`--${key} is required`);
  return v;
}
