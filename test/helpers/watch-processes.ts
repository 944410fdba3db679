// Watcher and writer processes for the watch-guarantee tests: watchers
// record every event they get, writers log every write acknowledged to them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { connect } from '../../client/index.js';
import type { WatchRecord } from './client-worker.js';
import { CLIENT_WORKER } from './paths.js';
import { runNode } from './run-process.js';
import type { TestPaths } from './temp-dir.js';
import type { WriteLog } from './watch-checker.js';

/**
 * Starts a client-worker scenario that prints READY once set up and, when it
 * ends, one JSON array line with what it recorded.
 */
export function startReportingWorker<T>(t: TestContext, args: string[], what: string) {
  const child = spawn(process.execPath, [CLIENT_WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  t.after(() => child.kill('SIGKILL'));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => stdout.includes('READY') && resolve());
    child.once('close', () => reject(new Error(`${what} process ended before READY: ${stderr}`)));
  });
  const report = new Promise<T[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish; stderr: ${stderr}`)), 120_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${what} process exited ${code}: ${stderr}`));
      resolve(JSON.parse(stdout.split('\n').find((line) => line.startsWith('['))!) as T[]);
    });
  });
  return { ready, report };
}

/** Starts a watcher process; resolves `ready` once all its watches have their snapshot. */
export function startWatchers(t: TestContext, paths: TestPaths, count: number, token: string, stallMs = 0) {
  const { ready, report } = startReportingWorker<WatchRecord>(t, ['watchers', paths.socketPath, String(count), token, String(stallMs)], 'watcher');
  return { ready, records: report };
}

export async function runWriters(paths: TestPaths, writers: number, each: number): Promise<WriteLog> {
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

/** Writes a last marker and returns the file once it holds the marker (the file is rewritten behind the commit). */
export async function finish(paths: TestPaths, token: string): Promise<unknown> {
  const client = connect({ socketPath: paths.socketPath, defaultTimeoutMs: 30_000 });
  try {
    await client.set('done', token, { waitForFile: true });
  } finally {
    client.close();
  }
  return JSON.parse(await readFile(paths.configPath, 'utf8'));
}
