// Runs a node script (the CLI, a client worker) as its own process and
// collects its output, with a bound on how long it may take.
import { spawn } from 'node:child_process';
import os from 'node:os';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runNode(
  script: string,
  args: string[],
  options: {
    timeoutMs?: number;
    env?: Record<string, string>;
    /** A lower priority (POSIX nice, 1–19), so a crowd of these leaves the CPU to other tests. */
    niceness?: number;
    /** Written to the process's stdin, which is then closed (else stdin is /dev/null). */
    input?: string;
  } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    if (options.input !== undefined) child.stdin!.end(options.input);
    if (options.niceness !== undefined && child.pid !== undefined) os.setPriority(child.pid, options.niceness);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
