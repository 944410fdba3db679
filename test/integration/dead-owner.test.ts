// An owner that is gone but still has a pid: a sidecar killed -9 whose parent
// never reaps it stays a zombie, and a pid can be given to another process
// after its owner died. Neither may keep the lock: `kill(pid, 0)` succeeds on
// both, so the check reads the process's state and start time
// (sidecar/ownership/process-liveness.ts). The lock's stale window is set to ten
// minutes so that only the liveness check can free it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { waitUntil } from '../helpers/sidecar-pids.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const linuxOnly = process.platform === 'linux' ? {} : { skip: 'zombies and start times are read from /proc' };
const STALE = ['--lock-stale-ms', '600000'];

async function procState(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
}

/**
 * A sidecar whose parent never reaps it: `sh` starts it in the background and
 * replaces itself with `sleep`, which never waits for children. Resolves with
 * the sidecar's pid once it serves; the parent is killed when the test ends.
 */
async function unreapedSidecar(t: TestContext, paths: TestPaths): Promise<number> {
  const command = `"$0" "$1" serve --config "$2" --socket "$3" --lock-stale-ms 600000 & echo $!; exec sleep 600`;
  const parent = spawn('sh', ['-c', command, process.execPath, CLI, paths.configPath, paths.socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => parent.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  parent.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  parent.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await waitUntil(() => stderr.includes('config-sidecar: serving'), 30_000, `the unreaped sidecar serves (stderr: ${stderr})`);
  return Number(stdout.trim());
}

test('a zombie owner (killed -9, never reaped) does not block the restart', linuxOnly, async (t) => {
  const paths = await testPaths(t);
  const pid = await unreapedSidecar(t, paths);
  assert.equal((await runNode(CLI, ['set', 'a', '1', '--socket', paths.socketPath])).code, 0);
  process.kill(pid, 'SIGKILL');
  await waitUntil(async () => (await procState(pid)) === 'Z', 10_000, `pid ${pid} becomes a zombie`);

  const started = Date.now();
  await startSidecar(t, paths, { extraArgs: STALE });
  const elapsed = Date.now() - started;
  assert.equal(await procState(pid), 'Z', 'the old owner is still an unreaped zombie');
  assert.ok(elapsed < 5000, `restart took ${elapsed} ms`);
  assert.equal((await runNode(CLI, ['get', 'a', '--socket', paths.socketPath])).stdout.trim(), '1');
});

/** Records `pid` as the owner of a lock taken at `since`, as a sidecar would have. */
async function fakeOwner(paths: TestPaths, pid: number, since: Date): Promise<void> {
  const stateDir = path.join(path.dirname(paths.configPath), '.config.json.sidecar');
  await mkdir(path.join(stateDir, 'lock'), { recursive: true });
  const { ino } = await stat(path.join(stateDir, 'lock'));
  const owner = { pid, socket: path.join(paths.dir, 'gone.sock'), lockIno: ino, host: os.hostname(), since: since.toISOString() };
  await writeFile(path.join(stateDir, 'owner.json'), JSON.stringify(owner) + '\n');
}

test('a pid reused by a process that started after the lock was taken is not the owner', linuxOnly, async (t) => {
  const paths = await testPaths(t);
  const stranger = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.after(() => stranger.kill('SIGKILL'));

  // The stranger started a minute after the recorded owner took the lock: its pid was reused.
  await fakeOwner(paths, stranger.pid!, new Date(Date.now() - 60_000));
  await startSidecar(t, paths, { extraArgs: STALE });
});

test('a live process that started before the record is taken for the owner: the start is refused, naming it', linuxOnly, async (t) => {
  const paths = await testPaths(t);
  const owner = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.after(() => owner.kill('SIGKILL'));
  await fakeOwner(paths, owner.pid!, new Date(Date.now() + 60_000));
  const refused = await startSidecar(t, paths, { extraArgs: STALE, noWait: true });
  assert.equal(await refused.exitWithin(), 1);
  assert.match(refused.stderr(), new RegExp(`already served by sidecar pid ${owner.pid}`));
});
