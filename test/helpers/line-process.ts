// A helper process driven by lines: commands on its stdin, one answer line
// each on its stdout, every wait bounded; killed when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';

export interface LineProcess {
  child: ChildProcess;
  /** Sends one command line. */
  send(line: string): void;
  /** The next line it prints, within the bound. */
  next(timeoutMs: number): Promise<string>;
}

/** Starts `node script ...args` and waits for its "READY" line. */
export async function startLineProcess(t: TestContext, script: string, args: string[]): Promise<LineProcess> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (timeoutMs: number): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${script} printed nothing for ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
    });
    try {
      const line = await Promise.race([lines.next(), timeout]);
      if (line.done === true) throw new Error(`${script} exited; stderr:\n${stderr}`);
      return line.value;
    } finally {
      clearTimeout(timer);
    }
  };
  const ready = await next(10_000);
  if (ready !== 'READY') throw new Error(`${script} said ${JSON.stringify(ready)} instead of READY; stderr:\n${stderr}`);
  return { child, send: (line) => child.stdin.write(line + '\n'), next };
}
