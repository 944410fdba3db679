// Benchmark suite entry: `npm run bench` (node dist/bench/run.js).
//   --quick        ~30 s smoke run: short durations, 1 MB document only
//   --only a,b     run only some workloads (get, durable, freeze, watch, restart, replica, lag, journal); the report
//                  is printed, not written over bench/results/latest.*
//   --max-wait-s N before each workload, wait up to N s (default 60) for
//                  other processes to leave the CPU idle; 0 to not wait
// Every server and load generator runs as its own process; all of them are
// killed and every temp directory removed when the run ends, fails or is
// interrupted.
import { execFile } from 'node:child_process';
import { parseArgs } from 'node:util';
import { cleanup } from './bench-processes.js';
import { runDurableSets, type DurableSetsOptions } from './durable-sets.js';
import { runGetLatency, type GetLatencyOptions } from './get-latency.js';
import { runLargeDocumentFreeze, type LargeDocumentFreezeOptions } from './large-document-freeze.js';
import { runWatchDelivery, type WatchDeliveryOptions } from './watch-delivery.js';
import { runRestartAfterKill, type RestartOptions } from './restart-after-kill.js';
import { runReplicaReads, type ReplicaReadsOptions } from './replica-reads.js';
import { CONFIG_BYTES, runFileLag, type FileLagOptions } from './file-lag.js';
import { runJournalDiskUse, type JournalDiskUseOptions } from './journal-disk-use.js';
import { NOISY_ABOVE, measureForeignLoad, waitForQuiet } from './machine-quiet.js';
import { describeCode, describeMachine, writeReport, type RunReport } from './results-report.js';
import type { WorkloadReport } from './workload-report.js';

interface Profile {
  get: GetLatencyOptions;
  durable: DurableSetsOptions;
  freeze: LargeDocumentFreezeOptions;
  watch: WatchDeliveryOptions;
  restart: RestartOptions;
  replica: ReplicaReadsOptions;
  lag: FileLagOptions;
  journal: JournalDiskUseOptions;
}

const MB = 1024 * 1024;
/** CPU share other processes may use before a workload starts. */
const QUIET_BELOW = 0.1;

const FULL: Profile = {
  get: {
    rounds: 3,
    serialCount: 7_000,
    serialWarmup: 1_000,
    throughputProcesses: 4,
    throughputInFlight: 32,
    throughputWarmupMs: 500,
    throughputDurationMs: 3_000,
    serverWarmupMs: 1_500,
  },
  durable: { processes: 8, sidecarInFlight: 16, durationMs: 8_000, bucketSize: 100, keySpace: 100, diskProbeSamples: 20 },
  freeze: { sizesBytes: [1 * MB, 10 * MB], sections: 100, readers: 4, readerIntervalMs: 1, idleMs: 3_000, rewriteMs: 10_000 },
  watch: { watcherProcesses: 4, watchersPerProcess: 25, intervalMs: 5, durationMs: 8_000 },
  restart: { rounds: 20, keys: 10_000 },
  replica: {
    rounds: 3,
    serialCount: 5_000,
    serialWarmup: 1_000,
    watch: { watcherProcesses: 4, watchersPerProcess: 25, intervalMs: 5, durationMs: 8_000 },
    memoryReplicas: 5,
    freeze: { sizesBytes: [10 * MB], sections: 100, readers: 4, readerIntervalMs: 1, idleMs: 3_000, rewriteMs: 10_000 },
  },
  lag: { sizesBytes: [CONFIG_BYTES, 1 * MB, 10 * MB], sections: 100, lagMs: 8_000 },
  journal: { documentBytes: 1 * MB, sections: 100, processes: 8, inFlight: 16, keySpace: 100, stormMs: 60_000, sampleEveryMs: 1_000 },
};

const QUICK: Profile = {
  get: {
    rounds: 1,
    serialCount: 2_000,
    serialWarmup: 300,
    throughputProcesses: 4,
    throughputInFlight: 32,
    throughputWarmupMs: 200,
    throughputDurationMs: 800,
    serverWarmupMs: 300,
  },
  durable: { processes: 8, sidecarInFlight: 16, durationMs: 1_000, bucketSize: 100, keySpace: 100, diskProbeSamples: 5 },
  freeze: { sizesBytes: [1 * MB], sections: 100, readers: 4, readerIntervalMs: 1, idleMs: 500, rewriteMs: 1_500 },
  watch: { watcherProcesses: 4, watchersPerProcess: 25, intervalMs: 5, durationMs: 1_500 },
  restart: { rounds: 3, keys: 10_000 },
  replica: {
    rounds: 1,
    serialCount: 2_000,
    serialWarmup: 300,
    watch: { watcherProcesses: 4, watchersPerProcess: 25, intervalMs: 5, durationMs: 1_500 },
    memoryReplicas: 3,
    freeze: { sizesBytes: [1 * MB], sections: 100, readers: 4, readerIntervalMs: 1, idleMs: 500, rewriteMs: 1_500 },
  },
  lag: { sizesBytes: [CONFIG_BYTES, 1 * MB], sections: 100, lagMs: 1_500 },
  journal: { documentBytes: 1 * MB, sections: 100, processes: 8, inFlight: 16, keySpace: 100, stormMs: 3_000, sampleEveryMs: 500 },
};

const WORKLOADS = {
  get: (p: Profile) => runGetLatency(p.get),
  durable: (p: Profile) => runDurableSets(p.durable),
  freeze: (p: Profile) => runLargeDocumentFreeze(p.freeze),
  watch: (p: Profile) => runWatchDelivery(p.watch),
  restart: (p: Profile) => runRestartAfterKill(p.restart),
  replica: (p: Profile) => runReplicaReads(p.replica),
  lag: (p: Profile) => runFileLag(p.lag),
  journal: (p: Profile) => runJournalDiskUse(p.journal),
} as const;
type WorkloadName = keyof typeof WORKLOADS;

function commandLine(args: string[]): string {
  const rest = args.join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${rest ? ` -- ${rest}` : ''}`;
  return `node dist/bench/run.js${rest ? ` ${rest}` : ''}`;
}

/** node:sqlite announces itself as experimental on first use; that line is noise in a report. */
function silenceSqliteWarning(): void {
  const listeners = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning' && warning.message.includes('SQLite')) return;
    for (const listener of listeners) listener(warning);
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const { values } = parseArgs({ args, options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'max-wait-s': { type: 'string', default: '60' } } });
  const maxWaitMs = Number(values['max-wait-s']) * 1000;
  if (!Number.isFinite(maxWaitMs) || maxWaitMs < 0) {
    process.stderr.write('bench: --max-wait-s must be a number of seconds >= 0\n');
    return 2;
  }
  const names = (values.only?.split(',').map((s) => s.trim()) ?? Object.keys(WORKLOADS)) as WorkloadName[];
  for (const name of names) {
    if (!(name in WORKLOADS)) {
      process.stderr.write(`bench: unknown workload "${name}" (known: ${Object.keys(WORKLOADS).join(', ')})\n`);
      return 2;
    }
  }
  silenceSqliteWarning();
  const profile = values.quick ? QUICK : FULL;
  const started = Date.now();
  const workloads: WorkloadReport[] = [];
  for (const name of names) {
    // The previous workload's dirty pages go to disk first: their writeback would fall on this one's fsyncs.
    await flushDirtyPages();
    const quiet = await waitForQuiet(QUIET_BELOW, maxWaitMs, (busy) =>
      process.stderr.write(`bench: waiting for other processes to leave the CPU (${Math.round(busy * 100)}% busy)\n`),
    );
    if (!quiet.quiet) process.stderr.write(`bench: the machine is still ${Math.round(quiet.busyAtStart * 100)}% busy; running ${name} anyway, figures will be noisy\n`);
    const t0 = Date.now();
    process.stderr.write(`bench: ${name} ...\n`);
    const foreignLoad = await measureForeignLoad();
    const report = await WORKLOADS[name](profile);
    report.conditions = { ...quiet, during: await foreignLoad() };
    workloads.push(report);
    const others = report.conditions.during?.othersShare;
    process.stderr.write(
      `bench: ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
        (others === undefined ? '\n' : `; other processes used ${Math.round(others * 100)}% of the CPU meanwhile${others > NOISY_ABOVE ? ' (figures suspect)' : ''}\n`),
    );
    for (const goal of report.goals) {
      process.stderr.write(`  ${goal.pass === null ? 'REPORTED' : goal.pass ? 'PASS' : 'FAIL'}  ${goal.goal}: ${goal.measured}\n`);
    }
  }
  const report: RunReport = {
    mode: values.quick ? 'quick' : 'full',
    command: commandLine(args),
    machine: describeMachine(),
    code: await describeCode(),
    durationSeconds: (Date.now() - started) / 1000,
    workloads,
  };
  if (values.only !== undefined) {
    process.stdout.write(JSON.stringify(workloads.map((w) => ({ [w.key]: w.data })), null, 2) + '\n');
    for (const w of workloads) process.stdout.write(`\n## ${w.title}\n\n${w.markdown}\n`);
  } else {
    const written = await writeReport(report);
    process.stderr.write(`bench: wrote ${written.markdown} and ${written.json} (${report.durationSeconds.toFixed(0)} s)\n`);
  }
  return 0;
}

/** Waits for `sync` (every dirty page of the machine written back); where there is none, goes on. */
async function flushDirtyPages(): Promise<void> {
  if (process.platform === 'win32') return;
  const t0 = Date.now();
  await new Promise<void>((resolve) => {
    execFile('sync', (error) => {
      if (error !== null) process.stderr.write(`bench: sync failed (${error.message}); the previous workload's writeback may overlap this one\n`);
      resolve();
    });
  });
  const ms = Date.now() - t0;
  if (ms > 100) process.stderr.write(`bench: flushing dirty pages took ${ms} ms\n`);
}

let exiting = false;
const abort = (signal: NodeJS.Signals) => {
  if (exiting) return;
  exiting = true;
  process.stderr.write(`bench: ${signal}, stopping every process\n`);
  void cleanup().finally(() => process.exit(130));
};
process.once('SIGINT', abort);
process.once('SIGTERM', abort);
process.on('uncaughtException', (error) => {
  process.stderr.write(`bench: failed: ${error.stack ?? String(error)}\n`);
  if (exiting) return;
  exiting = true;
  void cleanup().finally(() => process.exit(1));
});

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench: failed: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  })
  .then(async (code) => {
    await cleanup();
    process.exitCode = code;
  });
