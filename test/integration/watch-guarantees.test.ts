// Every watcher sees every change, in order, once (etcd's watch guarantees):
// 50 watchers across 5 processes while 4 writer processes make 1,000 writes;
// the same through a kill -9 and restart of the sidecar; and a watcher that
// stops reading for 5 s during 10,000 writes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { connect } from '../../client/index.js';
import type { WatchRecord } from '../helpers/client-worker.js';
import { CLIENT_WORKER } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';
import { checkWatchStream, type WriteLog } from '../helpers/watch-checker.js';

/** Starts a watcher process; resolves `ready` once all its watches have their snapshot. */
function startWatchers(t: TestContext, paths: TestPaths, count: number, token: string, stallMs = 0) {
  const child = spawn(process.execPath, [CLIENT_WORKER, 'watchers', paths.socketPath, String(count), token, String(stallMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  t.after(() => child.kill('SIGKILL'));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => stdout.includes('READY') && resolve());
    child.once('close', () => reject(new Error(`watcher process ended before READY: ${stderr}`)));
  });
  const records = new Promise<WatchRecord[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`watchers did not finish; stderr: ${stderr}`)), 120_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`watcher process exited ${code}: ${stderr}`));
      resolve(JSON.parse(stdout.split('\n').find((line) => line.startsWith('['))!) as WatchRecord[]);
    });
  });
  return { ready, records };
}

async function runWriters(paths: TestPaths, writers: number, each: number): Promise<WriteLog> {
  const runs = await Promise.all(
    Array.from({ length: writers }, (_, i) => runNode(CLIENT_WORKER, ['logged-writer', paths.socketPath, `w${i}`, String(each)], { timeoutMs: 120_000 })),
  );
  const log: WriteLog = [];
  for (const run of runs) {
    assert.equal(run.code, 0, run.stderr);
    log.push(...(JSON.parse(run.stdout) as { acked: WriteLog }).acked);
  }
  return log;
}

async function finish(paths: TestPaths, token: string): Promise<unknown> {
  const client = connect({ socketPath: paths.socketPath, defaultTimeoutMs: 30_000 });
  try {
    await client.set('done', token);
  } finally {
    client.close();
  }
  return JSON.parse(await readFile(paths.configPath, 'utf8'));
}

test('50 watchers x 1,000 writes from 4 processes: ordered, unique, gap-free, complete', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const watchers = Array.from({ length: 5 }, () => startWatchers(t, paths, 10, 'A'));
  await Promise.all(watchers.map((w) => w.ready));

  const writes = await runWriters(paths, 4, 250);
  assert.equal(writes.length, 1000);
  const onDisk = await finish(paths, 'A');

  const records = (await Promise.all(watchers.map((w) => w.records))).flat();
  assert.equal(records.length, 50);
  for (const [i, record] of records.entries()) {
    assert.deepEqual(checkWatchStream(record, writes), [], `watcher ${i}`);
    assert.equal(record.events.filter(([, , resync]) => resync).length, 0, 'no resync was needed');
    assert.deepEqual(record.view, onDisk, `watcher ${i}'s copy equals the file`);
  }
});

test('kill -9 and restart during writes: every watcher ends with exactly the file', async (t) => {
  const paths = await testPaths(t);
  let sidecar = await startSidecar(t, paths);
  const watchers = Array.from({ length: 2 }, () => startWatchers(t, paths, 5, 'B'));
  await Promise.all(watchers.map((w) => w.ready));

  const writing = runWriters(paths, 3, 400);
  await new Promise((resolve) => setTimeout(resolve, 300)); // let some writes land first
  await sidecar.kill9();
  sidecar = await startSidecar(t, paths);
  const writes = await writing;
  const onDisk = await finish(paths, 'B');

  for (const [i, record] of (await Promise.all(watchers.map((w) => w.records))).flat().entries()) {
    assert.deepEqual(checkWatchStream(record, writes), [], `watcher ${i}`);
    assert.deepEqual(record.view, onDisk, `watcher ${i}'s copy equals the file`);
  }
});

test('a watcher that stops reading for 5 s during 10,000 writes gets everything or a resync, never a gap', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const stalled = startWatchers(t, paths, 1, 'C', 5000);
  await stalled.ready;
  const writes = await runWriters(paths, 4, 2500);
  const onDisk = await finish(paths, 'C');
  const [record] = await stalled.records;
  assert.deepEqual(checkWatchStream(record!, writes), []);
  assert.deepEqual(record!.view, onDisk);
});
