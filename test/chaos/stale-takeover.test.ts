// A paused owner and its successor. Sidecar A serves under 8 writers and is
// stopped (SIGSTOP) past its lock's stale threshold; sidecar B starts on the
// same file with another socket, takes the lock over and acknowledges writes
// of its own writers; then A continues (SIGCONT). Every write B acknowledged
// must survive, A must never write again (it is fenced off) and must exit
// non-zero naming B, and B's health must say a deposed owner still runs until
// A has exited. TAKEOVER_ROUNDS rounds (1 when the file runs alone; `npm run chaos` runs 20).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect } from '../../client/index.js';
import { CLIENT_WORKER } from '../helpers/paths.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const ROUNDS = Number(process.env.TAKEOVER_ROUNDS ?? 1);
const STALE_MS = 2000;
const A_WRITERS = 8;
const B_WRITERS = 4;

interface Writer {
  child: ChildProcess;
  acked(): number;
  exited: Promise<void>;
}

/** A torture-writer process setting w<index> to 1, 2, 3... on `socketPath`, counting its acknowledgements. */
function writer(t: TestContext, socketPath: string, index: number, durationMs: number): Writer {
  const child = spawn(process.execPath, [CLIENT_WORKER, 'torture-writer', socketPath, String(index), String(durationMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let acked = 0;
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.startsWith('A ')) acked = Math.max(acked, Number(line.slice(2)));
  });
  return { child, acked: () => acked, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  test(`takeover round ${round}: a paused owner that wakes up never writes again and loses nothing of its successor's`, async (t) => {
    const paths = await testPaths(t);
    const a = await startSidecar(t, paths, { extraArgs: ['--lock-stale-ms', String(STALE_MS)] });
    t.after(() => a.child.kill('SIGCONT'));
    const aWriters = Array.from({ length: A_WRITERS }, (_, i) => writer(t, paths.socketPath, i, 60_000));
    await until(() => aWriters.every((w) => w.acked() >= 5), 20_000, 'every writer of A acknowledged');

    a.child.kill('SIGSTOP');
    // Past the stale threshold (measured from A's last refresh, at most a third of it before the stop).
    await new Promise((resolve) => setTimeout(resolve, STALE_MS * 1.6));
    const bPaths = { ...paths, socketPath: path.join(paths.dir, 'run-b', 's.sock') };
    const b = await startSidecar(t, bPaths, { extraArgs: ['--lock-stale-ms', String(STALE_MS)], timeoutMs: 20_000 });
    const bWriters = Array.from({ length: B_WRITERS }, (_, i) => writer(t, bPaths.socketPath, A_WRITERS + i, 1000));
    const client = connect({ socketPath: bPaths.socketPath });
    t.after(() => client.close());
    const paused = await client.health();
    assert.equal(paused.status, 'degraded', JSON.stringify(paused));
    assert.ok(paused.reasons.some((reason) => reason.includes(`pid ${a.pid}`)), `B's health names the paused owner: ${JSON.stringify(paused.reasons)}`);
    // B removed nothing of A's while A may still hold it: A's generation is fenced, not deleted.
    const fenced = await readdir(path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'fenced'));
    assert.ok(fenced.some((name) => name.endsWith(`-${a.pid}`)), `A's generation directory is kept in fenced/: ${fenced}`);
    await Promise.all(bWriters.map((w) => w.exited));
    const bAcked = bWriters.map((w) => w.acked());
    assert.ok(bAcked.every((n) => n > 0), `B acknowledged writes: ${bAcked}`);

    // From here on only A could change the file (once B's rewrite behind its last commit has landed).
    await fileCaughtUp(client);
    const before = await readFile(paths.configPath);
    const beforeIno = (await stat(paths.configPath)).ino;
    a.child.kill('SIGCONT');
    const code = await a.exitWithin(15_000);
    assert.notEqual(code, 0, 'A exits non-zero');
    assert.deepEqual(await readFile(paths.configPath), before, 'A wrote nothing after waking');
    assert.equal((await stat(paths.configPath)).ino, beforeIno, 'A renamed nothing over the file');
    assert.ok(a.stderr().includes(`pid ${b.pid}`), `A's last words name B (pid ${b.pid}):\n${a.stderr()}`);

    const served = (await client.get('')) as Record<string, number>;
    for (let i = 0; i < B_WRITERS; i++) {
      const key = `w${A_WRITERS + i}`;
      assert.ok((served[key] ?? 0) >= bAcked[i]!, `${key} is ${served[key]} but B acknowledged ${bAcked[i]}`);
    }
    assert.deepEqual(JSON.parse(before.toString('utf8')), served, 'the file holds what B serves');
    // A's exit shows: B no longer reports a deposed owner running (B may still report a file it re-applied from the journal).
    const after = await client.health();
    assert.ok(!after.reasons.some((reason) => reason.includes(`pid ${a.pid}`)), `B's health once A has exited: ${JSON.stringify(after)}`);
    assert.notEqual(after.status, 'failing');
    assert.equal(await b.stop(), 0);
    t.diagnostic(`B acknowledged ${bAcked.reduce((x, y) => x + y, 0)} writes; A exited with ${code}`);
  });
}
