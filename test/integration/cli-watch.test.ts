// `config-sidecar watch --rev N`: a watch that resumes where an earlier one
// stopped gets the revisions it missed, from N on, while the sidecar's history
// holds them; after a restart (history gone) it gets one resync line instead.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

interface WatchLine {
  revision: number;
  source: string;
  resync?: true;
  changes: { path: string; value?: unknown; deleted?: true }[];
}

/** A `config-sidecar watch` process and its next line, waited for with a bound. */
function startWatch(t: TestContext, args: string[]): { child: ChildProcess; next(timeoutMs?: number): Promise<WatchLine> } {
  const child = spawn(process.execPath, [CLI, 'watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    next: async (timeoutMs = 30_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`watch printed nothing for ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
      });
      try {
        const line = await Promise.race([lines.next(), timeout]);
        if (line.done === true) throw new Error(`watch ended; stderr:\n${stderr}`);
        return JSON.parse(line.value) as WatchLine;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Resolves with the exit code once `child` exits, within the bound. */
function exitOf(child: ChildProcess, timeoutMs = 30_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`watch still running after ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

test('watch --rev N replays revision N and later, then follows new ones; after a restart it resyncs', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths);
  const set = async (...args: string[]) => {
    const result = await runNode(CLI, ['set', ...args, '--socket', paths.socketPath, '--json']);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { revision: number }).revision;
  };
  await set('a', '1');
  const second = await set('a', '2');
  await set('other', 'x'); // not under the watched path: no line
  const third = await set('a', '3');

  const watch = startWatch(t, ['a', '--rev', String(second), '--socket', paths.socketPath]);
  const replayed = [await watch.next(), await watch.next()];
  assert.deepEqual(
    replayed.map((line) => ({ revision: line.revision, changes: line.changes, resync: line.resync })),
    [
      { revision: second, changes: [{ path: 'a', value: 2 }], resync: undefined },
      { revision: third, changes: [{ path: 'a', value: 3 }], resync: undefined },
    ],
  );
  const fourth = await set('a', '4');
  const live = await watch.next();
  assert.equal(live.revision, fourth);
  assert.deepEqual(live.changes, [{ path: 'a', value: 4 }]);
  watch.child.kill('SIGTERM');
  assert.equal(await exitOf(watch.child), 0);

  // A restart empties the history: revision `second` cannot be replayed any more.
  assert.equal(await sidecar.stop(), 0);
  await startSidecar(t, paths);
  const late = startWatch(t, ['a', '--rev', String(second), '--socket', paths.socketPath]);
  const resync = await late.next();
  assert.equal(resync.resync, true, JSON.stringify(resync));
  assert.deepEqual(resync.changes, [{ path: 'a', value: 4 }]);
  late.child.kill('SIGTERM');
  assert.equal(await exitOf(late.child), 0);
});

test('watch --rev takes a positive revision', async () => {
  const result = await runNode(CLI, ['watch', 'a', '--rev', 'latest']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--rev must be a positive integer \(revision\)/);
});
