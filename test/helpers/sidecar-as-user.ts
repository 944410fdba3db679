// A real sidecar process running as another (unprivileged) user, for tests
// that need the kernel to refuse it something root is always allowed, such as
// creating a file in a directory without write permission (EACCES).
// sidecar-process.ts starts sidecars as the test's own user; this adds the
// uid/gid and finds a node binary that user may execute.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CLI } from './paths.js';
import { waitForServing as waitForStartedSidecar } from './sidecar-process.js';

/** A sidecar process: what stopping it and waiting for it need. */
export interface SidecarChild {
  child: ChildProcess;
  exited: Promise<number | string>;
  stderr(): string;
}

export type ProgramOutcome = { node: string; cli: string } | { skip: string };

/**
 * A node binary and a built CLI `uid` can run. The test runner's node and the
 * checkout often live under directories other users cannot enter (a 0700
 * home or temp dir); then they are hard-linked (or, across file systems,
 * copied) into `scratchDir`, which that user must be able to enter: the same
 * program and package under paths they can reach.
 */
export async function programForUser(uid: number, gid: number, scratchDir: string): Promise<ProgramOutcome> {
  if ((await probe(process.execPath, CLI, uid, gid)) === undefined) return { node: process.execPath, cli: CLI };
  // A second user of the same scratch directory reuses what the first one placed there.
  const node = path.join(scratchDir, 'node');
  const linked = existsSync(node) ? undefined : await linkOrCopy(process.execPath, node);
  if (linked !== undefined) return { skip: `uid ${uid} cannot run ${process.execPath} and it cannot be placed elsewhere: ${linked}` };
  if ((await probe(node, CLI, uid, gid)) === undefined) return { node, cli: CLI };
  // The package itself: dist/ (ESM, so with package.json) and its dependencies.
  const root = path.resolve(path.dirname(CLI), '..', '..');
  const mirror = path.join(scratchDir, 'package');
  if (!existsSync(mirror)) {
    await mkdir(mirror, { mode: 0o755 });
    for (const entry of ['package.json', 'dist', 'node_modules']) {
      const failed = await linkOrCopy(path.join(root, entry), path.join(mirror, entry));
      if (failed !== undefined) return { skip: `cannot place ${entry} where uid ${uid} can read it: ${failed}` };
    }
  }
  const cli = path.join(mirror, path.relative(root, CLI));
  const last = await probe(node, cli, uid, gid);
  return last === undefined ? { node, cli } : { skip: `uid ${uid} cannot run node or read ${cli}: ${last}` };
}

/** Hard-links `from` (a file or a whole tree) at `to`, or copies it across file systems; undefined when done, else why not. */
function linkOrCopy(from: string, to: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    // cp -al links every file of a tree at once; -a alone copies where links cannot cross file systems.
    const attempt = (args: string[], fallback?: string[]) => {
      const child = spawn('cp', [...args, from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', (error) => resolve(error.message));
      child.once('close', (code) => {
        if (code === 0) resolve(undefined);
        else if (fallback !== undefined) attempt(fallback);
        else resolve(`cp exited ${code}: ${stderr.trim()}`);
      });
    };
    attempt(['-al'], ['-a']);
  });
}

/** undefined when `node` runs as uid/gid and can read `cli`; else why not. */
function probe(node: string, cli: string, uid: number, gid: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(node, ['-e', 'require("node:fs").accessSync(process.argv[1], 4)', cli], { uid, gid, stdio: ['ignore', 'ignore', 'pipe'] });
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
  cli: string;
  uid: number;
  gid: number;
  configPath: string;
  socketPath: string;
  /** A directory the user owns, as HOME: nothing may reach into the runner's home. */
  home: string;
}): SidecarChild {
  const child = spawn(options.node, [options.cli, 'serve', '--config', options.configPath, '--socket', options.socketPath, '--log-level', 'warn'], {
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
