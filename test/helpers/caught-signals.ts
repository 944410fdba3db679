// Whether a process has a handler for a signal, read from /proc/<pid>/status
// (Linux): the moment a starting sidecar can take a SIGHUP without dying is
// observable from outside, so a test can wait for it instead of guessing.
import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** True once `pid` catches `signal` (its bit in SigCgt); false if the process is gone. */
async function catches(pid: number, signal: NodeJS.Signals): Promise<boolean> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return false;
    throw error;
  }
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (mask === undefined) throw new Error(`no SigCgt line in /proc/${pid}/status`);
  return ((BigInt(`0x${mask}`) >> BigInt(os.constants.signals[signal] - 1)) & 1n) === 1n;
}

/** Resolves once `pid` catches `signal`; rejects after `timeoutMs` or when `exited` settles first. */
export async function waitUntilCaught(pid: number, signal: NodeJS.Signals, exited: Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = performance.now() + timeoutMs;
  while (!(await catches(pid, signal))) {
    if (gone) throw new Error(`process ${pid} exited before it caught ${signal}`);
    if (performance.now() > deadline) throw new Error(`process ${pid} did not catch ${signal} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
