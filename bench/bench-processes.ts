// The runner side of benchmark processes: load workers (ready / go / result
// over stdio), server processes (the sidecar, the raw echo baseline) waited
// for by their readiness line, and temp directories. Everything started here
// is registered, and cleanup() kills what is still running and removes the
// directories — on success, on error and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LINE_PREFIX, type WorkerLine } from './worker-lifecycle.js';

/** dist/cli/main.js, the production entry point. */
export const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** A built script in dist/bench. */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(`./${name}`, import.meta.url));
}

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function exitOf(child: ChildProcess): Promise<number | string> {
  if (!alive(child)) return Promise.resolve(child.exitCode ?? child.signalCode ?? 'unknown');
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
}

/** Keeps the last `max` characters of a stream, for error messages. */
function tail(stream: NodeJS.ReadableStream | null, max = 8192): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-max);
  });
  return () => text;
}

/** A temp directory removed by cleanup(). Kept short: Unix socket paths are limited to ~100 bytes. */
/** A temp dir (in `base`, default the OS's), removed when the run ends. */
export async function makeTempDir(base = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(base, 'csb-'));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Kills every child still running (SIGKILL) and removes every temp dir. Safe to call more than once. */
export async function cleanup(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of children) {
    if (alive(child)) {
      waits.push(exitOf(child));
      child.kill('SIGKILL');
    }
  }
  await Promise.all(waits);
  for (const dir of [...tempDirs]) await removeTempDir(dir).catch(() => undefined);
}

// ---- load workers -------------------------------------------------------------

export interface WorkerSpec {
  /** Script name in dist/bench, e.g. `get-worker.js`. */
  script: string;
  args: string[];
}

interface RunningWorker {
  child: ChildProcess;
  label: string;
  ready: Promise<void>;
  result: Promise<unknown>;
}

function spawnWorker(spec: WorkerSpec, deadlineMs: number): RunningWorker {
  const script = benchScript(spec.script);
  const args = [...spec.args, '--deadline-ms', String(deadlineMs)];
  const label = `${spec.script} ${spec.args.join(' ')}`;
  const child = track(
    spawn(process.execPath, ['--no-warnings=ExperimentalWarning', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const stderr = tail(child.stderr);
  // A worker that already exited closes its stdin: writing `go` or ending it must not crash the runner (EPIPE).
  child.stdin!.on('error', () => undefined);
  const ready = deferred<void>();
  const result = deferred<unknown>();
  const onFailed = (error: Error) => {
    ready.reject(error);
    result.reject(error);
  };
  let settled = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith(LINE_PREFIX)) return;
    const message = JSON.parse(line.slice(LINE_PREFIX.length)) as WorkerLine;
    if (message.type === 'ready') ready.resolve();
    else if (message.type === 'result') {
      settled = true;
      result.resolve(message.result);
    } else {
      settled = true;
      onFailed(new Error(`worker failed: ${message.message}`));
    }
  });
  child.once('error', (error) => onFailed(error));
  // 'close', not 'exit': it comes once stdout has been read to its end, so a long result line written just
  // before the exit is in (one turn after 'exit' was not always enough for a large one).
  child.once('close', (code, signal) => {
    if (!settled) onFailed(new Error(`worker ${label} exited (${code ?? signal}) without a result; stderr:\n${stderr()}`));
  });
  return { child, label, ready: ready.promise, result: result.promise };
}

/**
 * Starts every worker, waits until all are ready (connected, set up), says go
 * to all at once, and returns their results in order. Any failure or the
 * overall deadline kills the lot. `afterGo` runs beside the workers, from go
 * on (e.g. killing the server they load at a set moment); the results wait for it.
 */
export async function runWorkers<T>(specs: readonly WorkerSpec[], deadlineMs: number, afterGo?: () => Promise<void>): Promise<T[]> {
  const t0 = performance.now();
  const workers = specs.map((spec) => spawnWorker(spec, deadlineMs));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`workers did not finish within ${deadlineMs} ms`)), deadlineMs + 2000);
  });
  try {
    await Promise.race([Promise.all(workers.map((w) => w.ready)), deadline]);
    const t1 = performance.now();
    for (const w of workers) w.child.stdin!.write('go\n');
    const beside = afterGo?.() ?? Promise.resolve();
    const results = (await Promise.race([Promise.all([Promise.all(workers.map((w) => w.result)), beside]), deadline]))[0] as T[];
    verbose(`${workers.length} × ${specs[0]?.script}: ready after ${(t1 - t0).toFixed(0)} ms, results after ${(performance.now() - t1).toFixed(0)} ms more`);
    return results;
  } finally {
    clearTimeout(timer);
    for (const w of workers) {
      w.child.stdin!.end();
      if (alive(w.child)) {
        // A worker that reported exits on its own; give it a moment, then make sure.
        const exited = await Promise.race([exitOf(w.child), delay(2000).then(() => undefined)]);
        if (exited === undefined) w.child.kill('SIGKILL');
      }
    }
  }
}

/** Progress detail on stderr when BENCH_VERBOSE is set. */
export function verbose(message: string): void {
  if (process.env.BENCH_VERBOSE) process.stderr.write(`bench: ${message}\n`);
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

/** A promise with its settle functions; a rejection nobody awaits yet is not reported as unhandled. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** A timer that does not keep the runner alive: it only ever races a child's exit. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

// ---- server processes ---------------------------------------------------------

export interface ServerProcess {
  pid: number;
  /** Recent stderr, for error messages. */
  stderr(): string;
  /** SIGTERM, wait for exit (bounded, then SIGKILL); resolves with the exit code or signal. */
  stop(): Promise<number | string>;
  /** SIGKILL and wait. */
  kill9(): Promise<number | string>;
}

/** Starts `node <script> <args>` and resolves once `readyText` appears on its stderr. */
export async function startServer(script: string, args: string[], readyText: string, timeoutMs = 15_000): Promise<ServerProcess> {
  const child = track(spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
  const stderr = tail(child.stderr, 64 * 1024);
  const exited = exitOf(child);
  const server: ServerProcess = {
    pid: child.pid!,
    stderr,
    stop: async () => {
      if (alive(child)) child.kill('SIGTERM');
      const code = await Promise.race([exited, delay(15_000).then(() => undefined)]);
      if (code !== undefined) return code;
      child.kill('SIGKILL');
      return `SIGKILL after SIGTERM timed out (${await exited})`;
    },
    kill9: async () => {
      if (alive(child)) child.kill('SIGKILL');
      return exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path.basename(script)} not ready within ${timeoutMs} ms; stderr:\n${stderr()}`)), timeoutMs);
    const check = () => {
      if (stderr().includes(readyText)) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(script)} exited (${code}) before it was ready; stderr:\n${stderr()}`));
    });
  }).catch(async (error: unknown) => {
    await server.kill9();
    throw error;
  });
  return server;
}

/** The sidecar as in production: `config-sidecar serve` in its own process. */
export function startSidecar(configPath: string, socketPath: string): Promise<ServerProcess> {
  return startServer(CLI, ['serve', '--config', configPath, '--socket', socketPath, '--log-level', 'warn'], 'config-sidecar: serving');
}
