// Workload 8: the journal's disk use over a write storm. A realistic 1 MB
// document is loaded, then the durable workload's writer processes (8 × 16
// sets in flight, each overwriting its 100 keys in turn) write for --storm-ms
// while the runner samples, every second, the journal's size as the sidecar
// reports it (stats.file.journalBytes) and the state directory's disk use
// (`du -sk`). The journal must stay bounded: each background rewrite of the
// file lets the journal before it go. The storm ends like the durable
// workload: kill -9 under load, a new sidecar on the same file, every
// acknowledged write checked.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { verifyJsonDocument, type Verification } from './acknowledged-writes.js';
import { recoveredAfterKill, writeUntilKilled } from './after-kill.js';
import { makeTempDir, removeTempDir, startSidecar, type ServerProcess } from './bench-processes.js';
import { buildDocument } from './document-load.js';
import type { KeyLayout } from './durable-write-result.js';
import { fileStatsOf, readFileStats, waitForFileCurrent, type FileStats } from './file-stats.js';
import { markdownTable, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface JournalDiskUseOptions {
  documentBytes: number;
  sections: number;
  processes: number;
  inFlight: number;
  /** Keys each writer overwrites in turn. */
  keySpace: number;
  stormMs: number;
  sampleEveryMs: number;
}

interface Sample {
  atMs: number;
  /** stats.file.journalBytes; undefined without a checkpoint writer. */
  journalBytes: number | undefined;
  /** `du -sk` of the state directory, in bytes. */
  stateDirBytes: number;
}

const KiB = 1024;
const MiB = 1024 * 1024;

export async function runJournalDiskUse(options: JournalDiskUseOptions): Promise<WorkloadReport> {
  const dir = await makeTempDir();
  let sidecar: ServerProcess | undefined;
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    const socketPath = path.join(dir, 's.sock');
    // Where the sidecar keeps its journal, backups and state: docs/operations.md, "The state directory".
    const stateDir = path.join(path.dirname(configPath), `.${path.basename(configPath)}.sidecar`);
    sidecar = await startSidecar(configPath, socketPath);
    await buildDocument(socketPath, options.documentBytes, options.sections);
    await waitForFileCurrent(socketPath, 60_000);
    const layout: KeyLayout = { bucketSize: 0, keySpace: options.keySpace };

    const samples: Sample[] = [];
    const sample = async (killAt: number) => {
      const start = performance.now();
      // Stops a sample interval before the kill, so no stats call is left waiting on a dead sidecar.
      while (performance.now() + options.sampleEveryMs < killAt) {
        const stats = await readFileStats(socketPath);
        samples.push({ atMs: Math.round(performance.now() - start), journalBytes: stats.file?.journalBytes, stateDirBytes: await diskUse(stateDir) });
        await new Promise((resolve) => setTimeout(resolve, options.sampleEveryMs));
      }
    };
    const { workers, stats } = await writeUntilKilled(
      sidecar,
      socketPath,
      Array.from({ length: options.processes }, (_, i) => ({
        script: 'set-worker.js',
        args: ['--socket', socketPath, '--worker-index', String(i), '--in-flight', String(options.inFlight), '--bucket-size', '0', '--key-space', String(options.keySpace)],
      })),
      options.stormMs,
      sample,
    );
    const file = fileStatsOf(stats).file;
    // The state directory as the killed sidecar left it: journal, backups, temp files of a rewrite cut short.
    const endStateDirBytes = await diskUse(stateDir);
    const backupsBytes = await diskUse(path.join(stateDir, 'backups'));
    const acked = workers.reduce((n, w) => n + w.acked, 0);
    const elapsedMs = Math.max(...workers.map((w) => w.elapsedMs));
    const verification = verifyJsonDocument(workers, await recoveredAfterKill(sidecar, configPath, socketPath), layout);
    return report(options, { samples, file, endStateDirBytes, backupsBytes, acked, setsPerSecond: (acked / elapsedMs) * 1000, verification });
  } finally {
    await sidecar?.kill9();
    await removeTempDir(dir);
  }
}

interface StormResult {
  samples: Sample[];
  file: FileStats | undefined;
  endStateDirBytes: number;
  backupsBytes: number;
  acked: number;
  setsPerSecond: number;
  verification: Verification;
}

function report(options: JournalDiskUseOptions, r: StormResult): WorkloadReport {
  const peakSampledDir = Math.max(...r.samples.map((s) => s.stateDirBytes), r.endStateDirBytes);
  const journal =
    r.file === undefined
      ? 'n/a (the sidecar reports no stats.file)'
      : `journal peak ${mib(r.file.journalPeakBytes)} MiB, ${mib(r.file.journalBytes)} MiB at the end, file rewritten ${whole(r.file.rewrites)} times (${r.file.failedRewrites} failed)`;
  const goals: Goal[] = [
    {
      goal: `journal disk use over a ${options.stormMs / 1000} s write storm on a ${mib(options.documentBytes)} MiB document (bounded; reported)`,
      measured: `${journal}; state directory ${mib(r.endStateDirBytes)} MiB at the end (du; ${mib(r.backupsBytes)} MiB of it backups), sampled peak ${mib(peakSampledDir)} MiB`,
      pass: null,
    },
    {
      goal: 'zero lost writes: write storm (after kill -9 and a restart)',
      measured: `${r.verification.lost} lost of ${whole(r.acked)} acknowledged (${r.verification.failed} failed)`,
      pass: r.verification.lost === 0 && r.acked > 0,
    },
  ];
  const rows = thinned(r.samples, TABLE_ROWS).map((s) => [(s.atMs / 1000).toFixed(1), s.journalBytes === undefined ? 'n/a' : whole(s.journalBytes / KiB), whole(s.stateDirBytes / KiB)]);
  const markdown = [
    `${options.processes} writer processes × ${options.inFlight} sets in flight, each overwriting its ${options.keySpace} keys in turn, ` +
      `on a realistic ${mib(options.documentBytes)} MiB document for ${options.stormMs / 1000} s (${whole(r.setsPerSecond)} sets/s). ` +
      `Sampled every ${options.sampleEveryMs / 1000} s: the journal's size (\`stats.file.journalBytes\`) and \`du -sk\` of the state directory ` +
      `(journal, backups, state). ${journal}.`,
    '',
    markdownTable(['s into the storm', 'journal KiB', 'state directory KiB (du)'], rows),
  ].join('\n');
  return { key: 'journalDiskUse', title: '8. Journal disk use over a write storm', data: { options, ...r }, markdown, goals };
}

/** Samples shown in the report's table (all of them are in the JSON). */
const TABLE_ROWS = 13;

/** At most `n` samples, evenly spread, the first and the last included. */
function thinned(samples: Sample[], n: number): Sample[] {
  if (samples.length <= n) return samples;
  return Array.from({ length: n }, (_, i) => samples[Math.round((i * (samples.length - 1)) / (n - 1))]!);
}

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(2);
}

/**
 * Disk use of a directory in bytes (`du -sk`: blocks allocated, not apparent
 * sizes); 0 when it does not exist. Files the sidecar removes while du walks
 * make du complain and exit 1, but its total still stands.
 */
async function diskUse(dir: string): Promise<number> {
  const kib = (stdout: string | undefined) => Number(stdout?.split('\t')[0]);
  try {
    return kib((await promisify(execFile)('du', ['-sk', dir])).stdout) * KiB;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    if (Number.isFinite(kib(failed.stdout)) && failed.stdout !== '') return kib(failed.stdout) * KiB;
    if (failed.stderr?.includes('No such file')) return 0;
    throw error;
  }
}
