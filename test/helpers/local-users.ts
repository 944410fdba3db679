// Real local users and groups for tests about who may do what on one machine:
// created with groupadd/useradd (so only when the tests run as root), removed
// when the test ends, and processes run as them with the program they can
// reach (see sidecar-as-user.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { programForUser } from './sidecar-as-user.js';

export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  /** The node binary and built CLI this user can run. */
  node: string;
  cli: string;
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let created = 0;

/**
 * What each test created, removed when it ends: first the processes started as its users (a user
 * cannot be removed while it runs one), then the users, then the groups (a group cannot go while it
 * is a user's primary group).
 */
const createdBy = new WeakMap<TestContext, { users: string[]; groups: string[] }>();
const childrenOf = new Map<string, Set<ChildProcess>>();

function cleanupFor(t: TestContext): { users: string[]; groups: string[] } {
  let entry = createdBy.get(t);
  if (entry === undefined) {
    const made = { users: [] as string[], groups: [] as string[] };
    entry = made;
    createdBy.set(t, made);
    t.after(async () => {
      for (const user of made.users) {
        for (const child of childrenOf.get(user) ?? []) await killAndWait(child);
        childrenOf.delete(user);
        await run('userdel', [user]);
      }
      for (const group of made.groups) await run('groupdel', [group]);
    });
  }
  return entry;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Why users cannot be created here, or undefined when they can. */
export function cannotCreateUsers(): string | undefined {
  if (process.platform !== 'linux') return 'creating local users is done with useradd, on Linux only';
  if (process.getuid?.() !== 0) return 'creating local users (useradd) needs root';
  return undefined;
}

/** A new group, removed after the test. */
export async function createGroup(t: TestContext): Promise<{ name: string; gid: number }> {
  const name = `csg${process.pid}x${++created}`;
  await run('groupadd', [name]);
  cleanupFor(t).groups.push(name);
  const gid = Number((await run('getent', ['group', name])).split(':')[2]);
  return { name, gid };
}

/**
 * A new user whose primary group is `group` (default: a new group of its own), removed after the test;
 * `scratchDir` must be enterable by it (0711), the program is placed there when it cannot reach ours.
 */
export async function createUser(t: TestContext, scratchDir: string, group?: { name: string; gid: number }): Promise<LocalUser | { skip: string }> {
  const primary = group ?? (await createGroup(t));
  const name = `csu${process.pid}x${++created}`;
  await run('useradd', ['--no-create-home', '--no-user-group', '--gid', primary.name, '--shell', '/usr/sbin/nologin', name]);
  cleanupFor(t).users.push(name);
  const uid = Number(await run('id', ['-u', name]));
  await chmod(scratchDir, 0o711);
  const program = await programForUser(uid, primary.gid, scratchDir);
  if ('skip' in program) return program;
  return { name, uid, gid: primary.gid, node: program.node, cli: program.cli };
}

/** Starts `node args` as `user` (its primary group only) and returns the child at once. */
export function spawnAs(user: LocalUser, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(user.node, args, { uid: user.uid, gid: user.gid, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const children = childrenOf.get(user.name) ?? new Set<ChildProcess>();
  childrenOf.set(user.name, children);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs `node args` as `user` to the end, within `timeoutMs`. */
export function runAs(user: LocalUser, args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ProcessResult> {
  return collect(spawnAs(user, args, env), `${args.join(' ')} as ${user.name}`, timeoutMs);
}

/** Output and exit code of a child, with a bound. */
export function collect(child: ChildProcess, what: string, timeoutMs = 30_000): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not finish within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a system command (groupadd, useradd, id...) and returns its trimmed stdout; rejects naming the command on failure. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(stdout.trim()) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}
