// A real sidecar process running as another (unprivileged) user, for tests
// that need the kernel to refuse it something root is always allowed, such as
// creating a file in a directory without write permission (EACCES).
// sidecar-process.ts starts sidecars as the test's own user; this adds the
// uid/gid and finds a node binary that user may execute.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, link } from 'node:fs/promises';
import path from 'node:path';
import { CLI } from './paths.js';
import { waitForServing as waitForStartedSidecar } from './sidecar-process.js';

/** A sidecar process: what stopping it and waiting for it need. */
export interface SidecarChild {
  child: ChildProcess;
  exited: Promise<number | string>;
  stderr(): string;
}

export type NodeOutcome = { node: string } | { skip: string };

/**
 * A node binary `uid` can run, able to read the built CLI. The test runner's
 * own node often lives under a home directory other users cannot enter (0700);
 * then it is hard-linked (or, across file systems, copied) into `scratchDir`
 * (which that user must be able to enter): the same program under a path
 * they can reach.
 */
export async function nodeForUser(uid: number, gid: number, scratchDir: string): Promise<NodeOutcome> {
  const direct = await probe(process.execPath, uid, gid);
  if (direct === undefined) return { node: process.execPath };
  const linked = path.join(scratchDir, 'node');
  try {
    await link(process.execPath, linked);
  } catch (error) {
    // A hard link cannot cross file systems (/tmp is often a tmpfs): a copy is the same program.
    if ((error as { code?: string }).code !== 'EXDEV') {
      return { skip: `uid ${uid} cannot run ${process.execPath} (${direct}) and it cannot be linked elsewhere: ${(error as Error).message}` };
    }
    await copyFile(process.execPath, linked);
    await chmod(linked, 0o755);
  }
  const viaLink = await probe(linked, uid, gid);
  if (viaLink === undefined) return { node: linked };
  return { skip: `uid ${uid} cannot run node or read ${CLI}: ${viaLink}` };
}

/** undefined when `node` runs as uid/gid and can read the CLI; else why not. */
function probe(node: string, uid: number, gid: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(node, ['-e', 'require("node:fs").accessSync(process.argv[1], 4)', CLI], { uid, gid, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('the probe did not finish within 10 s');
    }, 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(error.message);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `exit ${code}: ${stderr.trim().split('\n')[0] ?? ''}`);
    });
  });
}

/**
 * Spawns `config-sidecar serve` as uid/gid and returns at once, so the caller
 * can arrange its stop before waiting for it with `waitForServing`.
 */
export function spawnSidecarAsUser(options: {
  node: string;
  uid: number;
  gid: number;
  configPath: string;
  socketPath: string;
  /** A directory the user owns, as HOME: nothing may reach into the runner's home. */
  home: string;
}): SidecarChild {
  const child = spawn(options.node, [CLI, 'serve', '--config', options.configPath, '--socket', options.socketPath, '--log-level', 'warn'], {
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: options.home },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { child, exited, stderr: () => stderr };
}

/** Resolves once the sidecar has printed its "serving" line; rejects if it exits first or `timeoutMs` passes. */
export function waitForServing(sidecar: SidecarChild, timeoutMs = 10_000): Promise<void> {
  return waitForStartedSidecar(sidecar.child, sidecar.stderr, sidecar.exited, timeoutMs);
}
