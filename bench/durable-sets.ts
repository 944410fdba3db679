// Workload 2: durable set throughput. Eight writer processes each set unique
// keys for the same duration against each contender:
//   sidecar   8 processes x --in-flight sets through the client library, keys
//             w<i>.k<seq> (each worker's object keeps growing); judged by the goal
//   sidecar, bucketed   the same with keys w<i>.b<seq/100>.k<seq>, so no object
//             passes 100 keys: separates group commit from per-write costs
//             that grow with the size of the object written into
//   sidecar, config-sized   each worker overwrites its keys w<i>.k<seq % 100>
//             in turn: an 800-key file that stays the size of a real config
//   echo ceiling   the same writer processes against the raw echo server
//             (bench/raw-echo-server.ts): no storage, no fsync, no sidecar
//             logic; what any server on this transport and CPU could reach
//   SQLite    node:sqlite, WAL, synchronous=FULL, busy_timeout=5000, one
//             autocommit INSERT OR REPLACE per write
//   lock file proper-lockfile lock, read JSON, set, temp + fsync + rename, unlock
// Afterwards every acknowledged write must be in the final file / table (for
// overwrites: every key holds its newest acknowledged value): each sidecar run
// ends with kill -9 while its writers still have sets in flight, a new
// sidecar on the same file, and the file it recovers (after-kill.ts), so
// "acknowledged" is checked to mean "on disk", not "will be flushed at
// shutdown"; the sets in flight at the kill count as failed, either outcome right.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { verify, verifyJsonDocument, type Verification } from './acknowledged-writes.js';
import { recoveredAfterKill, writeUntilKilled } from './after-kill.js';
import { existsSync } from 'node:fs';
import { benchScript, makeTempDir, removeTempDir, runWorkers, startServer, startSidecar, type ServerProcess } from './bench-processes.js';
import { probeDisk, type DiskProbe } from './disk-probe.js';
import { type DurableWorkerResult, type KeyLayout, NEW_KEY_EVERY_WRITE, sqlKey } from './durable-write-result.js';
import { fileStatsOf, type FileStats } from './file-stats.js';
import { LatencyHistogram, round, type LatencySummary } from './latency-histogram.js';
import { markdownTable, ms, ratio, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface DurableSetsOptions {
  processes: number;
  /** Sets in flight per sidecar client process. */
  sidecarInFlight: number;
  durationMs: number;
  /** Keys per sub-object for the bucketed sidecar run. */
  bucketSize: number;
  /** Keys each worker overwrites in turn in the config-sized sidecar run. */
  keySpace: number;
  /** Repetitions of each step of the disk probe. */
  diskProbeSamples: number;
}

/** File size for the disk probe: about the sidecar's file half-way through a full run. */
const PROBE_FILE_BYTES = 256 * 1024;

type Contender = 'sidecar' | 'sidecarBucketed' | 'sidecarConfigSized' | 'sidecarConfigSizedTmpfs' | 'echoCeiling' | 'sqlite' | 'lockfile';

interface ContenderResult {
  contender: Contender;
  setsPerSecond: number;
  latency: LatencySummary;
  elapsedMs: number;
  /** Acknowledgements in each second of the run, all workers together. */
  setsPerSecondOverTime: number[];
  acked: number;
  /** Undefined for the echo ceiling: it stores nothing. */
  verification: Verification | undefined;
  failures: string[];
  /** Sidecar only: flushes and writes per flush (group commit), final file size. */
  sidecar?: {
    flushes: number;
    writesCommitted: number;
    writesPerFlush: number;
    fileBytes: number;
    msPerFlush: number;
    /** The checkpoint writer's figures at the end of the run; undefined when the file is written at commit. */
    file: FileStats | undefined;
  };
}

/** Goals: every sidecar shape against SQLite, and the config-sized run against the ceiling. */
const GOAL_VS_SQLITE = 1.5;
const GOAL_OF_CEILING = 0.6;
const SIDECAR_SHAPES = ['sidecar', 'sidecarBucketed', 'sidecarConfigSized'] as const;
function shape(c: (typeof SIDECAR_SHAPES)[number], options: DurableSetsOptions): string {
  if (c === 'sidecar') return 'growing document (keys w<i>.k<n>)';
  if (c === 'sidecarBucketed') return `keys in ≤${options.bucketSize}-key objects`;
  return `config-sized (${options.processes * options.keySpace} keys overwritten)`;
}

const LABELS: Record<Contender, string> = {
  sidecar: 'sidecar, keys w<i>.k<n>',
  sidecarBucketed: 'sidecar, keys w<i>.b<n/100>.k<n>',
  sidecarConfigSized: 'sidecar, config-sized: keys w<i>.k<n mod 100> overwritten',
  sidecarConfigSizedTmpfs: 'the same config-sized sidecar with its files on tmpfs (no disk latency: its CPU floor)',
  echoCeiling: 'raw echo server, no storage (ceiling)',
  sqlite: 'SQLite WAL, synchronous=FULL',
  lockfile: 'proper-lockfile read-modify-write',
};

export async function runDurableSets(options: DurableSetsOptions): Promise<WorkloadReport> {
  const probeDir = await makeTempDir();
  const disk = await probeDisk(probeDir, PROBE_FILE_BYTES, options.diskProbeSamples).finally(() => removeTempDir(probeDir));
  const results: ContenderResult[] = [];
  results.push(await runSidecar(options, 'sidecar', NEW_KEY_EVERY_WRITE));
  results.push(await runSidecar(options, 'sidecarBucketed', { bucketSize: options.bucketSize, keySpace: 0 }));
  results.push(await runSidecar(options, 'sidecarConfigSized', { bucketSize: 0, keySpace: options.keySpace }));
  // Every step of the sidecar's work, with the disk's latency taken away: what this machine's CPUs allow it.
  if (existsSync(TMPFS)) results.push(await runSidecar(options, 'sidecarConfigSizedTmpfs', { bucketSize: 0, keySpace: options.keySpace }, TMPFS));
  results.push(await runEchoCeiling(options));
  results.push(await runSqlite(options));
  results.push(await runLockfile(options));

  const by = (c: Contender) => results.find((r) => r.contender === c)!;
  const sqlite = by('sqlite').setsPerSecond;
  const sidecarVsSqlite = ratio(by('sidecar').setsPerSecond, sqlite);
  const sidecarVsLockfile = ratio(by('sidecar').setsPerSecond, by('lockfile').setsPerSecond);
  const bucketedVsSqlite = ratio(by('sidecarBucketed').setsPerSecond, sqlite);
  const configSizedVsSqlite = ratio(by('sidecarConfigSized').setsPerSecond, sqlite);
  const ceiling = by('echoCeiling').setsPerSecond;
  const configSizedOfCeiling = by('sidecarConfigSized').setsPerSecond / ceiling;
  const goals: Goal[] = [
    ...SIDECAR_SHAPES.map((c) => {
      const vsSqlite = ratio(by(c).setsPerSecond, sqlite);
      return {
        goal: `durable sets/s, ${shape(c, options)}: sidecar ≥ ${GOAL_VS_SQLITE}× SQLite WAL FULL`,
        measured: `${vsSqlite}× (${whole(by(c).setsPerSecond)} vs ${whole(sqlite)} sets/s)`,
        pass: vsSqlite >= GOAL_VS_SQLITE,
      };
    }),
    {
      goal: `durable sets/s, ${shape('sidecarConfigSized', options)}: sidecar ≥ ${GOAL_OF_CEILING * 100}% of the no-storage ceiling`,
      measured: `${Math.round(configSizedOfCeiling * 100)}% (${whole(by('sidecarConfigSized').setsPerSecond)} vs ${whole(ceiling)} sets/s)`,
      pass: configSizedOfCeiling >= GOAL_OF_CEILING,
    },
    ...(results.some((r) => r.contender === 'sidecarConfigSizedTmpfs')
      ? [
          {
            goal: `floor: ${LABELS.sidecarConfigSizedTmpfs} (reported)`,
            measured: `${whole(by('sidecarConfigSizedTmpfs').setsPerSecond)} sets/s = ${Math.round((by('sidecarConfigSizedTmpfs').setsPerSecond / ceiling) * 100)}% of the ceiling`,
            pass: null,
          },
        ]
      : []),
    {
      goal: 'ceiling: the same writers against a raw echo server, no storage (reported)',
      measured: `${whole(ceiling)} sets/s = ${ratio(ceiling, sqlite)}× SQLite`,
      pass: null,
    },
    ...results.flatMap((r) => {
      const v = r.verification;
      if (v === undefined) return [];
      return [{
        goal: `zero lost writes: ${LABELS[r.contender]}${r.sidecar === undefined ? '' : ' (after kill -9 and a restart)'}`,
        measured: `${v.lost} lost of ${whole(r.acked)} acknowledged (${whole(v.keysFound)} keys found, ${v.failed} failed)`,
        pass: v.lost === 0 && r.acked > 0,
      }];
    }),
  ];

  const oneInFlight = (c: Contender) => c === 'sqlite' || c === 'lockfile';
  const inFlight = (c: Contender) => (oneInFlight(c) ? `${options.processes}×1` : `${options.processes}×${options.sidecarInFlight}`);
  const rows = results.map((r) => [
    LABELS[r.contender],
    inFlight(r.contender),
    whole(r.setsPerSecond),
    `${ratio(r.setsPerSecond, sqlite)}×`,
    firstToLast(r.setsPerSecondOverTime, options.durationMs),
    ms(r.latency.p50Ms),
    ms(r.latency.p99Ms),
    whole(r.acked),
    r.verification === undefined ? '–' : whole(r.verification.keysFound),
    r.verification === undefined ? '– (stores nothing)' : String(r.verification.lost),
  ]);
  const markdown = [
    `${options.processes} writer processes, ${options.durationMs / 1000} s each contender, every write a new key, except in the config-sized run ` +
      `(each worker overwrites its ${options.keySpace} keys in turn; a key must end with its newest acknowledged value). ` +
      `Each sidecar run ends with kill -9 of the sidecar under load and a new sidecar on the same file: the file it recovers is counted ` +
      `(the sets in flight at the kill are counted failed: either outcome is right). The echo ceiling runs the sidecar's writer processes unchanged against ` +
      `a server that answers each set at once and stores nothing: no implementation on this transport and CPU can pass it.`,
    '',
    markdownTable(['contender', 'procs×in flight', 'sets/s', 'vs SQLite', 'sets/s 1st s → last s', 'p50 ms', 'p99 ms', 'acknowledged', 'keys found', 'lost'], rows),
    '',
    results
      .filter((r) => r.sidecar !== undefined)
      .map(
        (r) =>
          `${LABELS[r.contender]}: ${whole(r.sidecar!.writesCommitted)} writes in ${whole(r.sidecar!.flushes)} commits ` +
          `(${r.sidecar!.writesPerFlush.toFixed(1)} writes per commit, one every ${r.sidecar!.msPerFlush.toFixed(1)} ms), ` +
          `final file ${whole(r.sidecar!.fileBytes / 1024)} KiB${describeCheckpoints(r.sidecar!.file)}.`,
      )
      .join(' ') + ` Sidecar vs lock file: ${sidecarVsLockfile}×.`,
    '',
    describeDisk(disk),
  ].join('\n');

  return {
    key: 'durableSets',
    title: '2. durable set throughput vs SQLite WAL and a lock-file writer',
    data: {
      options,
      disk,
      results,
      ratios: {
        sidecarVsSqlite,
        sidecarBucketedVsSqlite: bucketedVsSqlite,
        sidecarConfigSizedVsSqlite: configSizedVsSqlite,
        sidecarConfigSizedOfCeiling: round(configSizedOfCeiling, 3),
        echoCeilingVsSqlite: ratio(ceiling, sqlite),
        sidecarVsLockfile,
      },
    },
    markdown,
    goals,
  };
}

/** The background rewrites of the file during a run; nothing for a sidecar that writes the file at commit. */
function describeCheckpoints(file: FileStats | undefined): string {
  if (file === undefined) return '';
  return `, rewritten ${whole(file.rewrites)} times in the background (${file.failedRewrites} failed), journal peak ${whole(file.journalPeakBytes / 1024)} KiB`;
}

function describeDisk(disk: DiskProbe): string {
  const r = disk.replace;
  return (
    `Disk probe (median of ${disk.samples}): replacing a ${whole(disk.fileBytes / 1024)} KiB file durably takes ${ms(r.totalMs)} ms ` +
    `(write ${ms(r.writeMs)}, fsync ${ms(r.fsyncMs)}, rename ${ms(r.renameMs)}, directory fsync ${ms(r.dirFsyncMs)}); ` +
    `appending 100 bytes + fdatasync (a WAL commit's I/O) takes ${ms(disk.appendDatasyncMs)} ms. ` +
    `The first is a commit's I/O when the file is replaced at each commit, the second when the commit is an append to the journal and the file is rewritten in the background.`
  );
}

/** Sets in the first and the last whole second of the run. */
function firstToLast(series: number[], durationMs: number): string {
  const last = Math.floor(durationMs / 1000) - 1;
  if (last < 1 || series.length === 0) return '–';
  return `${whole(series[0] ?? 0)} → ${whole(series[last] ?? 0)}`;
}

function summarise(contender: Contender, workers: DurableWorkerResult[], verification: Verification | undefined): ContenderResult {
  const acked = workers.reduce((sum, w) => sum + w.acked, 0);
  const elapsedMs = Math.max(...workers.map((w) => w.elapsedMs));
  const failures = workers.flatMap((w) => w.failed.map((f) => `w${w.workerIndex}#${f.seq}: ${f.error}`)).slice(0, 20);
  return {
    contender,
    setsPerSecond: (acked / elapsedMs) * 1000,
    latency: LatencyHistogram.mergeAll(workers.map((w) => w.latency)).summary(),
    elapsedMs,
    setsPerSecondOverTime: sumSeries(workers.map((w) => w.ackedPerSecond)),
    acked,
    verification,
    failures,
  };
}

function sumSeries(series: number[][]): number[] {
  const out: number[] = [];
  for (const s of series) s.forEach((n, i) => (out[i] = (out[i] ?? 0) + n));
  return Array.from(out, (n) => n ?? 0);
}

/** A RAM-backed file system, where there is one (Linux). */
const TMPFS = '/dev/shm';

const indexes = (n: number) => Array.from({ length: n }, (_, i) => i);

async function runSidecar(options: DurableSetsOptions, contender: Contender, layout: KeyLayout, base?: string): Promise<ContenderResult> {
  const dir = await makeTempDir(base);
  let sidecar: ServerProcess | undefined;
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    const socketPath = path.join(dir, 's.sock');
    sidecar = await startSidecar(configPath, socketPath);
    const { workers, stats } = await writeUntilKilled(
      sidecar,
      socketPath,
      indexes(options.processes).map((i) => ({
        script: 'set-worker.js',
        args: [
          '--socket', socketPath, '--worker-index', String(i), '--in-flight', String(options.sidecarInFlight),
          '--bucket-size', String(layout.bucketSize), '--key-space', String(layout.keySpace),
        ],
      })),
      options.durationMs,
    );
    // Acknowledged means durable: a sidecar started after kill -9 must hold every acknowledged write.
    const text = await recoveredAfterKill(sidecar, configPath, socketPath);
    const result = summarise(contender, workers, verifyJsonDocument(workers, text, layout));
    const flushes = stats.flushes as number;
    const writesCommitted = stats.writesCommitted as number;
    result.sidecar = {
      flushes,
      writesCommitted,
      writesPerFlush: writesCommitted / Math.max(1, flushes),
      fileBytes: Buffer.byteLength(text),
      msPerFlush: result.elapsedMs / Math.max(1, flushes),
      file: fileStatsOf(stats).file,
    };
    return result;
  } finally {
    await sidecar?.kill9();
    await removeTempDir(dir);
  }
}

/** The sidecar's writer processes, unchanged, against a server that answers every set at once and keeps nothing. */
async function runEchoCeiling(options: DurableSetsOptions): Promise<ContenderResult> {
  const dir = await makeTempDir();
  let echo: ServerProcess | undefined;
  try {
    const socketPath = path.join(dir, 'echo.sock');
    echo = await startServer(benchScript('raw-echo-server.js'), ['--socket', socketPath], 'raw-echo: listening');
    const workers = await runWorkers<DurableWorkerResult>(
      indexes(options.processes).map((i) => ({
        script: 'set-worker.js',
        args: ['--socket', socketPath, '--worker-index', String(i), '--in-flight', String(options.sidecarInFlight), '--duration-ms', String(options.durationMs)],
      })),
      options.durationMs + 60_000,
    );
    return summarise('echoCeiling', workers, undefined);
  } finally {
    await echo?.kill9();
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
    return summarise('lockfile', workers, verifyJsonDocument(workers, await readFile(file, 'utf8'), NEW_KEY_EVERY_WRITE));
  } finally {
    await removeTempDir(dir);
  }
}
