// Workload 2: durable set throughput. Eight writer processes each set unique
// keys for the same duration against three contenders:
//   sidecar   8 processes x --in-flight sets through the client library
//   SQLite    node:sqlite, WAL, synchronous=FULL, busy_timeout=5000, one
//             autocommit INSERT OR REPLACE per write
//   lock file proper-lockfile lock, read JSON, set, temp + fsync + rename, unlock
// Afterwards every acknowledged write must be in the final file / table: for
// the sidecar the file is read after kill -9, so "acknowledged" is checked
// to mean "on disk", not "will be flushed at shutdown".
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { connect } from '../client/index.js';
import { makeTempDir, removeTempDir, runWorkers, startSidecar, type ServerProcess } from './bench-processes.js';
import { type DurableWorkerResult, sqlKey, workerSection, writeKey } from './durable-write-result.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import { markdownTable, ms, ratio, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface DurableSetsOptions {
  processes: number;
  /** Sets in flight per sidecar client process. */
  sidecarInFlight: number;
  durationMs: number;
}

type Contender = 'sidecar' | 'sqlite' | 'lockfile';

interface Verification {
  acked: number;
  /** Keys found in the final file or table. */
  keysFound: number;
  /** Acknowledged writes missing from the final file or table. */
  lost: number;
  /** Writes that failed (not acknowledged); their outcome may be either. */
  failed: number;
}

interface ContenderResult {
  contender: Contender;
  setsPerSecond: number;
  latency: LatencySummary;
  elapsedMs: number;
  verification: Verification;
  failures: string[];
  /** Sidecar only: flushes and writes per flush (group commit). */
  sidecar?: { flushes: number; writesCommitted: number; writesPerFlush: number; eventLoopDelay: unknown };
}

const LABELS: Record<Contender, string> = {
  sidecar: 'sidecar (group commit)',
  sqlite: 'SQLite WAL, synchronous=FULL',
  lockfile: 'proper-lockfile read-modify-write',
};

export async function runDurableSets(options: DurableSetsOptions): Promise<WorkloadReport> {
  const results: ContenderResult[] = [];
  results.push(await runSidecar(options));
  results.push(await runSqlite(options));
  results.push(await runLockfile(options));

  const by = (c: Contender) => results.find((r) => r.contender === c)!;
  const sidecarVsSqlite = ratio(by('sidecar').setsPerSecond, by('sqlite').setsPerSecond);
  const sidecarVsLockfile = ratio(by('sidecar').setsPerSecond, by('lockfile').setsPerSecond);
  const goals: Goal[] = [
    {
      goal: 'durable sets/s: sidecar ≥ 10× SQLite WAL',
      measured: `${sidecarVsSqlite}× (${whole(by('sidecar').setsPerSecond)} vs ${whole(by('sqlite').setsPerSecond)} sets/s)`,
      pass: sidecarVsSqlite >= 10,
    },
    ...results.map((r) => ({
      goal: `zero lost writes: ${LABELS[r.contender]}`,
      measured: `${r.verification.lost} lost of ${whole(r.verification.acked)} acknowledged (${whole(r.verification.keysFound)} keys found, ${r.verification.failed} failed)`,
      pass: r.verification.lost === 0 && r.verification.acked > 0,
    })),
  ];

  const sidecar = by('sidecar').sidecar;
  const inFlight = (c: Contender) => (c === 'sidecar' ? `${options.processes}×${options.sidecarInFlight}` : `${options.processes}×1`);
  const rows = results.map((r) => [
    LABELS[r.contender],
    inFlight(r.contender),
    whole(r.setsPerSecond),
    `${ratio(r.setsPerSecond, by('sqlite').setsPerSecond)}×`,
    ms(r.latency.p50Ms),
    ms(r.latency.p99Ms),
    whole(r.verification.acked),
    whole(r.verification.keysFound),
    String(r.verification.lost),
  ]);
  const markdown = [
    `${options.processes} writer processes, ${options.durationMs / 1000} s each contender, every write a new key. ` +
      `The sidecar's file is counted after kill -9 of the sidecar.`,
    '',
    markdownTable(['contender', 'procs×in flight', 'sets/s', 'vs SQLite', 'p50 ms', 'p99 ms', 'acknowledged', 'keys found', 'lost'], rows),
    '',
    sidecar === undefined
      ? ''
      : `Sidecar: ${whole(sidecar.writesCommitted)} writes in ${whole(sidecar.flushes)} flushes (${sidecar.writesPerFlush.toFixed(1)} writes per fsync'd file replacement). ` +
        `Sidecar vs lock file: ${sidecarVsLockfile}×.`,
  ].join('\n');

  return {
    key: 'durableSets',
    title: '2. durable set throughput vs SQLite WAL and a lock-file writer',
    data: { options, results, ratios: { sidecarVsSqlite, sidecarVsLockfile } },
    markdown,
    goals,
  };
}

function summarise(contender: Contender, workers: DurableWorkerResult[], verification: Verification): ContenderResult {
  const acked = workers.reduce((sum, w) => sum + w.acked, 0);
  const elapsedMs = Math.max(...workers.map((w) => w.elapsedMs));
  const failures = workers.flatMap((w) => w.failed.map((f) => `w${w.workerIndex}#${f.seq}: ${f.error}`)).slice(0, 20);
  return {
    contender,
    setsPerSecond: (acked / elapsedMs) * 1000,
    latency: LatencyHistogram.mergeAll(workers.map((w) => w.latency)).summary(),
    elapsedMs,
    verification,
    failures,
  };
}

/** Counts acknowledged writes missing from `present(workerIndex, seq)`. */
function verify(workers: DurableWorkerResult[], keysFound: number, present: (workerIndex: number, seq: number) => boolean): Verification {
  let lost = 0;
  let failed = 0;
  for (const w of workers) {
    const failedSeqs = new Set(w.failed.map((f) => f.seq));
    failed += failedSeqs.size;
    for (let seq = 0; seq < w.issued; seq++) {
      if (!failedSeqs.has(seq) && !present(w.workerIndex, seq)) lost++;
    }
  }
  return { acked: workers.reduce((sum, w) => sum + w.acked, 0), keysFound, lost, failed };
}

function verifyJsonDocument(workers: DurableWorkerResult[], text: string): Verification {
  const doc = JSON.parse(text) as Record<string, Record<string, unknown>>;
  let keysFound = 0;
  for (const section of Object.values(doc)) keysFound += Object.keys(section).length;
  return verify(workers, keysFound, (i, seq) => doc[workerSection(i)]?.[writeKey(seq)] !== undefined);
}

const indexes = (n: number) => Array.from({ length: n }, (_, i) => i);

async function runSidecar(options: DurableSetsOptions): Promise<ContenderResult> {
  const dir = await makeTempDir();
  let sidecar: ServerProcess | undefined;
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    const socketPath = path.join(dir, 's.sock');
    sidecar = await startSidecar(configPath, socketPath);
    const workers = await runWorkers<DurableWorkerResult>(
      indexes(options.processes).map((i) => ({
        script: 'set-worker.js',
        args: ['--socket', socketPath, '--worker-index', String(i), '--in-flight', String(options.sidecarInFlight), '--duration-ms', String(options.durationMs)],
      })),
      options.durationMs + 60_000,
    );
    const client = connect({ socketPath, name: 'bench-runner' });
    const stats = await client.stats().finally(() => client.close());
    // Acknowledged means durable: the file must hold every acknowledged write even if the sidecar dies now.
    await sidecar.kill9();
    const verification = verifyJsonDocument(workers, await readFile(configPath, 'utf8'));
    const result = summarise('sidecar', workers, verification);
    const flushes = stats.flushes as number;
    const writesCommitted = stats.writesCommitted as number;
    result.sidecar = { flushes, writesCommitted, writesPerFlush: writesCommitted / Math.max(1, flushes), eventLoopDelay: stats.eventLoopDelay };
    return result;
  } finally {
    await sidecar?.kill9();
    await removeTempDir(dir);
  }
}

async function runSqlite(options: DurableSetsOptions): Promise<ContenderResult> {
  const dir = await makeTempDir();
  try {
    const dbPath = path.join(dir, 'config.db');
    const setup = new DatabaseSync(dbPath);
    setup.exec('PRAGMA journal_mode = WAL');
    setup.exec('CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    setup.close();
    const workers = await runWorkers<DurableWorkerResult>(
      indexes(options.processes).map((i) => ({
        script: 'sqlite-worker.js',
        args: ['--db', dbPath, '--worker-index', String(i), '--duration-ms', String(options.durationMs)],
      })),
      options.durationMs + 60_000,
    );
    const check = new DatabaseSync(dbPath, { readOnly: true });
    const keys = new Set(check.prepare('SELECT key FROM kv').all().map((row) => row.key as string));
    check.close();
    return summarise('sqlite', workers, verify(workers, keys.size, (i, seq) => keys.has(sqlKey(i, seq))));
  } finally {
    await removeTempDir(dir);
  }
}

async function runLockfile(options: DurableSetsOptions): Promise<ContenderResult> {
  const dir = await makeTempDir();
  try {
    const file = path.join(dir, 'config.json');
    await writeFile(file, '{}\n');
    const workers = await runWorkers<DurableWorkerResult>(
      indexes(options.processes).map((i) => ({
        script: 'lockfile-worker.js',
        args: ['--file', file, '--worker-index', String(i), '--duration-ms', String(options.durationMs)],
      })),
      options.durationMs + 60_000,
    );
    return summarise('lockfile', workers, verifyJsonDocument(workers, await readFile(file, 'utf8')));
  } finally {
    await removeTempDir(dir);
  }
}
