// Workload 2: durable set throughput. Eight writer processes each set unique
// keys for the same duration against each contender:
//   sidecar   8 processes x --in-flight sets through the client library, keys
//             w<i>.k<seq> (each worker's object keeps growing); judged by the goal
//   sidecar, bucketed   the same with keys w<i>.b<seq/100>.k<seq>, so no object
//             passes 100 keys: separates group commit from per-write costs
//             that grow with the size of the object written into
//   SQLite    node:sqlite, WAL, synchronous=FULL, busy_timeout=5000, one
//             autocommit INSERT OR REPLACE per write
//   lock file proper-lockfile lock, read JSON, set, temp + fsync + rename, unlock
// Afterwards every acknowledged write must be in the final file / table: for
// the sidecar the file is read after kill -9, so "acknowledged" is checked
// to mean "on disk", not "will be flushed at shutdown".
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connect } from '../client/index.js';
import { makeTempDir, removeTempDir, runWorkers, startSidecar, type ServerProcess } from './bench-processes.js';
import { probeDisk, type DiskProbe } from './disk-probe.js';
import { type DurableWorkerResult, documentPath, sqlKey } from './durable-write-result.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import { markdownTable, ms, ratio, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface DurableSetsOptions {
  processes: number;
  /** Sets in flight per sidecar client process. */
  sidecarInFlight: number;
  durationMs: number;
  /** Keys per sub-object for the bucketed sidecar run. */
  bucketSize: number;
  /** Repetitions of each step of the disk probe. */
  diskProbeSamples: number;
}

/** File size for the disk probe: about the sidecar's file half-way through a full run. */
const PROBE_FILE_BYTES = 256 * 1024;

type Contender = 'sidecar' | 'sidecarBucketed' | 'sqlite' | 'lockfile';

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
  /** Acknowledgements in each second of the run, all workers together. */
  setsPerSecondOverTime: number[];
  verification: Verification;
  failures: string[];
  /** Sidecar only: flushes and writes per flush (group commit), final file size. */
  sidecar?: { flushes: number; writesCommitted: number; writesPerFlush: number; fileBytes: number; msPerFlush: number };
}

const LABELS: Record<Contender, string> = {
  sidecar: 'sidecar, keys w<i>.k<n>',
  sidecarBucketed: 'sidecar, keys w<i>.b<n/100>.k<n>',
  sqlite: 'SQLite WAL, synchronous=FULL',
  lockfile: 'proper-lockfile read-modify-write',
};

export async function runDurableSets(options: DurableSetsOptions): Promise<WorkloadReport> {
  const probeDir = await makeTempDir();
  const disk = await probeDisk(probeDir, PROBE_FILE_BYTES, options.diskProbeSamples).finally(() => removeTempDir(probeDir));
  const results: ContenderResult[] = [];
  results.push(await runSidecar(options, 'sidecar', 0));
  results.push(await runSidecar(options, 'sidecarBucketed', options.bucketSize));
  results.push(await runSqlite(options));
  results.push(await runLockfile(options));

  const by = (c: Contender) => results.find((r) => r.contender === c)!;
  const sidecarVsSqlite = ratio(by('sidecar').setsPerSecond, by('sqlite').setsPerSecond);
  const sidecarVsLockfile = ratio(by('sidecar').setsPerSecond, by('lockfile').setsPerSecond);
  const bucketedVsSqlite = ratio(by('sidecarBucketed').setsPerSecond, by('sqlite').setsPerSecond);
  const goals: Goal[] = [
    {
      goal: 'durable sets/s: sidecar ≥ 10× SQLite WAL',
      measured: `${sidecarVsSqlite}× (${whole(by('sidecar').setsPerSecond)} vs ${whole(by('sqlite').setsPerSecond)} sets/s)`,
      pass: sidecarVsSqlite >= 10,
    },
    {
      goal: 'durable sets/s, keys in ≤100-key objects: sidecar vs SQLite WAL (reported)',
      measured: `${bucketedVsSqlite}× (${whole(by('sidecarBucketed').setsPerSecond)} sets/s)`,
      pass: null,
    },
    ...results.map((r) => ({
      goal: `zero lost writes: ${LABELS[r.contender]}`,
      measured: `${r.verification.lost} lost of ${whole(r.verification.acked)} acknowledged (${whole(r.verification.keysFound)} keys found, ${r.verification.failed} failed)`,
      pass: r.verification.lost === 0 && r.verification.acked > 0,
    })),
  ];

  const isSidecar = (c: Contender) => c === 'sidecar' || c === 'sidecarBucketed';
  const inFlight = (c: Contender) => (isSidecar(c) ? `${options.processes}×${options.sidecarInFlight}` : `${options.processes}×1`);
  const rows = results.map((r) => [
    LABELS[r.contender],
    inFlight(r.contender),
    whole(r.setsPerSecond),
    `${ratio(r.setsPerSecond, by('sqlite').setsPerSecond)}×`,
    firstToLast(r.setsPerSecondOverTime, options.durationMs),
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
    markdownTable(['contender', 'procs×in flight', 'sets/s', 'vs SQLite', 'sets/s 1st s → last s', 'p50 ms', 'p99 ms', 'acknowledged', 'keys found', 'lost'], rows),
    '',
    results
      .filter((r) => r.sidecar !== undefined)
      .map(
        (r) =>
          `${LABELS[r.contender]}: ${whole(r.sidecar!.writesCommitted)} writes in ${whole(r.sidecar!.flushes)} flushes ` +
          `(${r.sidecar!.writesPerFlush.toFixed(1)} writes per durable file replacement, one every ${r.sidecar!.msPerFlush.toFixed(1)} ms), ` +
          `final file ${whole(r.sidecar!.fileBytes / 1024)} KiB.`,
      )
      .join(' ') + ` Sidecar vs lock file: ${sidecarVsLockfile}×.`,
    '',
    describeDisk(disk),
  ].join('\n');

  return {
    key: 'durableSets',
    title: '2. durable set throughput vs SQLite WAL and a lock-file writer',
    data: { options, disk, results, ratios: { sidecarVsSqlite, sidecarBucketedVsSqlite: bucketedVsSqlite, sidecarVsLockfile } },
    markdown,
    goals,
  };
}

function describeDisk(disk: DiskProbe): string {
  const r = disk.replace;
  return (
    `Disk probe (median of ${disk.samples}): replacing a ${whole(disk.fileBytes / 1024)} KiB file durably takes ${ms(r.totalMs)} ms ` +
    `(write ${ms(r.writeMs)}, fsync ${ms(r.fsyncMs)}, rename ${ms(r.renameMs)}, directory fsync ${ms(r.dirFsyncMs)}); ` +
    `appending 100 bytes + fdatasync (a WAL commit's I/O) takes ${ms(disk.appendDatasyncMs)} ms. ` +
    `With one flush in progress and the next one filling, the sidecar's ceiling is about (writes in flight / 2) per file replacement.`
  );
}

/** Sets in the first and the last whole second of the run. */
function firstToLast(series: number[], durationMs: number): string {
  const last = Math.floor(durationMs / 1000) - 1;
  if (last < 1 || series.length === 0) return '–';
  return `${whole(series[0] ?? 0)} → ${whole(series[last] ?? 0)}`;
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
    setsPerSecondOverTime: sumSeries(workers.map((w) => w.ackedPerSecond)),
    verification,
    failures,
  };
}

function sumSeries(series: number[][]): number[] {
  const out: number[] = [];
  for (const s of series) s.forEach((n, i) => (out[i] = (out[i] ?? 0) + n));
  return Array.from(out, (n) => n ?? 0);
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

function verifyJsonDocument(workers: DurableWorkerResult[], text: string, bucketSize: number): Verification {
  const doc = JSON.parse(text) as Record<string, unknown>;
  return verify(workers, countLeaves(doc), (i, seq) => valueAt(doc, documentPath(i, seq, bucketSize)) !== undefined);
}

/** Number of non-object values in a document: one per write. */
function countLeaves(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 1;
  let n = 0;
  for (const child of Object.values(value)) n += countLeaves(child);
  return n;
}

function valueAt(doc: unknown, segments: readonly string[]): unknown {
  let node = doc;
  for (const segment of segments) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

const indexes = (n: number) => Array.from({ length: n }, (_, i) => i);

async function runSidecar(options: DurableSetsOptions, contender: Contender, bucketSize: number): Promise<ContenderResult> {
  const dir = await makeTempDir();
  let sidecar: ServerProcess | undefined;
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    const socketPath = path.join(dir, 's.sock');
    sidecar = await startSidecar(configPath, socketPath);
    const workers = await runWorkers<DurableWorkerResult>(
      indexes(options.processes).map((i) => ({
        script: 'set-worker.js',
        args: [
          '--socket', socketPath, '--worker-index', String(i), '--in-flight', String(options.sidecarInFlight),
          '--duration-ms', String(options.durationMs), '--bucket-size', String(bucketSize),
        ],
      })),
      options.durationMs + 60_000,
    );
    const client = connect({ socketPath, name: 'bench-runner' });
    const stats = await client.stats().finally(() => client.close());
    // Acknowledged means durable: the file must hold every acknowledged write even if the sidecar dies now.
    await sidecar.kill9();
    const text = await readFile(configPath, 'utf8');
    const result = summarise(contender, workers, verifyJsonDocument(workers, text, bucketSize));
    const flushes = stats.flushes as number;
    const writesCommitted = stats.writesCommitted as number;
    result.sidecar = {
      flushes,
      writesCommitted,
      writesPerFlush: writesCommitted / Math.max(1, flushes),
      fileBytes: Buffer.byteLength(text),
      msPerFlush: result.elapsedMs / Math.max(1, flushes),
    };
    return result;
  } finally {
    await sidecar?.kill9();
    await removeTempDir(dir);
  }
}

async function runSqlite(options: DurableSetsOptions): Promise<ContenderResult> {
  // Loaded on use: node:sqlite warns that it is experimental when first loaded, and the runner filters that warning only once running.
  const { DatabaseSync } = await import('node:sqlite');
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
    return summarise('lockfile', workers, verifyJsonDocument(workers, await readFile(file, 'utf8'), 0));
  } finally {
    await removeTempDir(dir);
  }
}
