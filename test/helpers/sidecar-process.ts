// A real sidecar in its own process (`config-sidecar serve`), started and
// stopped by tests. Readiness is its "serving" line on stderr, waited for
// with a bound, never a sleep.
import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { CLI } from './paths.js';
import { endBeforeRemovalOf, type TestPaths } from './temp-dir.js';

export interface SidecarProcess {
  child: ChildProcess;
  pid: number;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** The exit code, waited for with a bound (for processes expected to stop by themselves). */
  exitWithin(timeoutMs?: number): Promise<number | string>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | string>;
  /** SIGKILL and wait for exit. */
  kill9(): Promise<number | string>;
}

export interface StartOptions {
  extraArgs?: string[];
  env?: Record<string, string>;
  /** Don't wait for "serving" (for processes expected to fail). */
  noWait?: boolean;
  timeoutMs?: number;
  /** An installed `config-sidecar` to run (test/helpers/global-install.ts) instead of this checkout's CLI under the test's node. */
  executable?: string;
}

export async function startSidecar(t: TestContext, paths: TestPaths, options: StartOptions = {}): Promise<SidecarProcess> {
  const [command, entry] = options.executable === undefined ? [process.execPath, [CLI]] : [options.executable, []];
  const child = spawn(
    command,
    [...entry, 'serve', '--config', paths.configPath, '--socket', paths.socketPath, '--log-level', 'warn', ...(options.extraArgs ?? [])],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const proc: SidecarProcess = {
    child,
    pid: child.pid!,
    stderr: () => stderr,
    exited,
    exitWithin: (timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sidecar still running after ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
        void exited.then((code) => {
          clearTimeout(timer);
          resolve(code);
        });
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
  t.after(() => proc.kill9());
  endBeforeRemovalOf(paths, () => proc.kill9());
  if (options.noWait) return proc;
  await waitForServing(child, proc.stderr, exited, options.timeoutMs);
  return proc;
}

/**
 * Resolves once `child` has printed the sidecar's "serving" line; rejects if it exits first or
 * `timeoutMs` passes. The bound is generous: a test running beside one that starts 100 processes
 * on two cores can wait many seconds for a CPU.
 */
export function waitForServing(child: ChildProcess, stderr: () => string, exited: Promise<number | string>, timeoutMs = 30_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar ${child.pid} not serving within ${timeoutMs} ms; stderr:\n${stderr()}`)), timeoutMs);
    const check = () => {
      if (!stderr().includes('config-sidecar: serving')) return;
      clearTimeout(timer);
      child.stderr!.off('data', check);
      resolve();
    };
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar ${child.pid} exited (${code}) before serving; stderr:\n${stderr()}`));
    });
    check();
  });
}
