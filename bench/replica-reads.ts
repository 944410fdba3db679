// Workload 6: reads from a local replica. In the same run: (a) getSync and
// replica get() against the socket get through the library and the raw
// msgpack echo round trip; (b) coherence: 100 replicas (4 processes × 25)
// and one writer, from the write's acknowledgement until every replica serves
// it, beside the bare fan-out baseline of the watch workload; (c) heap per
// replica of a 1 MB document; (d) the large-document freeze rerun with replica
// readers: get p99 while a 10 MB document is rewritten, against idle.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { benchScript, makeTempDir, removeTempDir, runWorkers, startServer, startSidecar, type ServerProcess } from './bench-processes.js';
import type { GetWorkerResult } from './get-worker.js';
import { runSize, type LargeDocumentFreezeOptions } from './large-document-freeze.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import type { ReplicaMemoryResult } from './replica-memory-worker.js';
import { runRound, type RoundFigures, type WatchDeliveryOptions } from './watch-delivery.js';
import { markdownTable, ms, ratio, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface ReplicaReadsOptions {
  rounds: number;
  serialCount: number;
  serialWarmup: number;
  watch: WatchDeliveryOptions;
  memoryReplicas: number;
  /** One size: the rerun of the freeze workload with replica readers. */
  freeze: LargeDocumentFreezeOptions;
}

type Target = 'raw' | 'library' | 'replica' | 'replicaSync';
const TARGETS: readonly Target[] = ['raw', 'library', 'replica', 'replicaSync'];
const LABELS: Record<Target, string> = {
  raw: 'raw node:net echo round trip (baseline)',
  library: 'sidecar get, client library (socket)',
  replica: 'replica get() (awaited)',
  replicaSync: 'replica getSync()',
};
const CLIENT_OF: Record<Target, string> = { raw: 'framed', library: 'library', replica: 'replica', replicaSync: 'replica-sync' };
const KEY_PATH = 'app.features.darkMode';
const KEY_VALUE = 'enabled-for-beta-users';
const MB = 1024 * 1024;

export async function runReplicaReads(options: ReplicaReadsOptions): Promise<WorkloadReport> {
  const latency = await readLatency(options);
  const coherence = await coherenceRounds(options.watch);
  const memory = await memoryPerReplica(options.memoryReplicas);
  const freeze = await runSize(options.freeze.sizesBytes[0]!, { ...options.freeze, readerClient: 'replica' });

  const p50 = (t: Target) => latency[t].p50Ms;
  const speedup = ratio(p50('raw'), p50('replicaSync'));
  const freezeRatio = ratio(freeze.rewrite.getLatency.p99Ms, freeze.idle.getLatency.p99Ms);
  const memoryRatio = ratio(memory.bytesPerReplica, memory.documentBytes);
  const replicaCount = options.watch.watcherProcesses * options.watch.watchersPerProcess;
  const goals: Goal[] = [
    { goal: 'replica getSync p50 ≤ 1 µs', measured: `${(p50('replicaSync') * 1000).toFixed(3)} µs`, pass: p50('replicaSync') <= 0.001 },
    { goal: 'replica getSync ≥ 100× faster than the raw echo round trip (p50)', measured: `${whole(speedup)}× (${ms(p50('raw'))} ms vs ${(p50('replicaSync') * 1000).toFixed(3)} µs)`, pass: speedup >= 100 },
    {
      goal: `coherence with ${replicaCount} replicas: acknowledgement → every replica serves it, p99 ≤ 5 ms`,
      measured: `${ms(coherence.replica.allAfterCommit.p99Ms)} ms (p50 ${ms(coherence.replica.allAfterCommit.p50Ms)})`,
      pass: coherence.replica.allAfterCommit.p99Ms <= 5,
    },
    {
      goal: 'coherence p99 no longer than the bare fan-out baseline (same measure)',
      measured: `${ms(coherence.replica.allAfterCommit.p99Ms)} vs ${ms(coherence.baseline.allAfterCommit.p99Ms)} ms`,
      pass: coherence.replica.allAfterCommit.p99Ms <= coherence.baseline.allAfterCommit.p99Ms,
    },
    { goal: 'every change served by every replica', measured: `${whole(coherence.replica.delivered)} of ${whole(coherence.replica.expected)}`, pass: coherence.replica.delivered === coherence.replica.expected },
    { goal: 'memory per replica of a 1 MB document ≤ 3× its JSON size', measured: `${memoryRatio}× (${whole(memory.bytesPerReplica)} B for ${whole(memory.documentBytes)} B of JSON)`, pass: memoryRatio <= 3 },
    {
      goal: `replica get p99 while a ${Math.round(freeze.targetBytes / MB)} MB document is rewritten ≤ 1.5× idle`,
      measured: `${freezeRatio}× (${ms(freeze.rewrite.getLatency.p99Ms)} vs ${ms(freeze.idle.getLatency.p99Ms)} ms)`,
      pass: freezeRatio <= 1.5,
    },
  ];

  const us = (msValue: number) => (msValue * 1000).toFixed(3);
  const coherenceRow = (label: string, f: RoundFigures) => [label, whole(f.changes), `${whole(f.delivered)} (${whole(f.expected)})`, ms(f.afterCommit.p50Ms), ms(f.afterCommit.p99Ms), ms(f.allAfterCommit.p50Ms), ms(f.allAfterCommit.p99Ms), ms(f.allAfterCommit.maxMs)];
  const markdown = [
    `Reads of \`${KEY_PATH}\`, one process per target, ${whole(options.serialCount)} reads per round after ${whole(options.serialWarmup)} warm-up, ` +
      `pooled over ${options.rounds} round(s), targets alternating. getSync (${whole(options.serialCount * 10)} reads per round) is timed one call at a time ` +
      `from exact samples, the clock's own cost included (an empty timed call: ${latency.syncNanos.clockP50} ns p50); median of the rounds. ` +
      `The others come from the latency histogram, whose first bucket is 1 µs: a 1.000 there means at most 1 µs.`,
    '',
    markdownTable(
      ['target', 'p50 µs', 'p99 µs', 'raw echo p50 / this p50'],
      TARGETS.map((t) => [LABELS[t], us(latency[t].p50Ms), us(latency[t].p99Ms), `${ratio(p50('raw'), latency[t].p50Ms)}×`]),
    ),
    '',
    `Coherence: ${replicaCount} replicas (${options.watch.watcherProcesses} processes × ${options.watch.watchersPerProcess} clients), one writer setting ` +
      `\`bench.t\` every ${options.watch.intervalMs} ms for ${options.watch.durationMs / 1000} s. "Each" is every replica's time from the writer's ` +
      `acknowledgement until it serves the change (onDidChange runs after the copy is updated); "every" is, per change, the last replica's. ` +
      `Baseline: the watch workload's bare node:net fan-out server and watchers, same processes, same measures; ` +
      `the plain-watcher row is the same clients watching without a replica (what the replica adds).`,
    '',
    markdownTable(
      ['target', 'changes', 'served (expected)', 'each p50 ms', 'each p99 ms', 'every p50 ms', 'every p99 ms', 'every max ms'],
      [
        coherenceRow('bare node:net fan-out (baseline)', coherence.baseline),
        coherenceRow('sidecar, plain watchers (library)', coherence.watchers),
        coherenceRow('sidecar, replicas', coherence.replica),
      ],
    ),
    '',
    `Memory: ${options.memoryReplicas} replicas of a ${whole(memory.documentBytes)}-byte (JSON) document in one process; heap + external after a full GC, ` +
      `less that of the process with one plain client, per replica: ${whole(memory.bytesPerReplica)} B (${memoryRatio}× the JSON).`,
    '',
    `Freeze rerun: ${options.freeze.readers} reader processes read from replicas about every ${options.freeze.readerIntervalMs} ms while a ` +
      `${Math.round(freeze.targetBytes / MB)} MB document is rewritten (section writer, ${whole(freeze.rewrite.writer?.sets ?? 0)} sets): ` +
      `get p99 ${ms(freeze.rewrite.getLatency.p99Ms)} ms rewriting vs ${ms(freeze.idle.getLatency.p99Ms)} ms idle (${freezeRatio}×); ` +
      `p50 ${ms(freeze.rewrite.getLatency.p50Ms)} vs ${ms(freeze.idle.getLatency.p50Ms)} ms.`,
  ].join('\n');
  return {
    key: 'replicaReads',
    title: '6. Replica reads: local latency, coherence, memory, freeze',
    data: { options, latency, coherence, memory, freeze: { targetBytes: freeze.targetBytes, idle: freeze.idle, rewrite: freeze.rewrite } },
    markdown,
    goals,
  };
}

/** getSync's exact figures (median over rounds), in ns. */
interface SyncNanos {
  p50: number;
  p99: number;
  clockP50: number;
}

async function readLatency(options: ReplicaReadsOptions): Promise<Record<Target, LatencySummary> & { syncNanos: SyncNanos }> {
  const dir = await makeTempDir();
  const servers: ServerProcess[] = [];
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    await mkdir(path.dirname(configPath), { recursive: true });
    await writeFile(configPath, JSON.stringify({ app: { name: 'bench', features: { darkMode: KEY_VALUE, beta: true } }, server: { port: 8080 } }) + '\n');
    const sidecarSocket = path.join(dir, 'sidecar.sock');
    const rawSocket = path.join(dir, 'raw.sock');
    servers.push(await startSidecar(configPath, sidecarSocket));
    servers.push(await startServer(benchScript('raw-echo-server.js'), ['--socket', rawSocket, '--value', JSON.stringify(KEY_VALUE)], 'raw-echo: listening'));
    const samples: Record<Target, LatencyHistogram[]> = { raw: [], library: [], replica: [], replicaSync: [] };
    const nanos: SyncNanos[] = [];
    for (let r = 0; r < options.rounds; r++) {
      for (const target of TARGETS) {
        const args = ['--socket', target === 'raw' ? rawSocket : sidecarSocket, '--client', CLIENT_OF[target], '--mode', 'serial', '--path', KEY_PATH];
        const count = target === 'replicaSync' ? options.serialCount * 10 : options.serialCount;
        const [result] = await runWorkers<GetWorkerResult>([{ script: 'get-worker.js', args: [...args, '--count', String(count), '--warmup', String(options.serialWarmup * 10)] }], 120_000);
        if (result!.errors > 0) throw new Error(`${target}: ${result!.errors} failed reads (${result!.firstError})`);
        samples[target].push(LatencyHistogram.from(result!.latency));
        if (result!.nanos !== undefined) nanos.push(result!.nanos);
      }
    }
    const summaries = Object.fromEntries(TARGETS.map((t) => [t, LatencyHistogram.mergeAll(samples[t].map((h) => h.toData())).summary()])) as Record<Target, LatencySummary>;
    const median = (pick: (n: SyncNanos) => number) => nanos.map(pick).sort((a, b) => a - b)[Math.floor((nanos.length - 1) / 2)]!;
    // The histogram's first bucket is 1 µs: getSync's percentiles come from its exact samples.
    const syncNanos = { p50: median((n) => n.p50), p99: median((n) => n.p99), clockP50: median((n) => n.clockP50) };
    summaries.replicaSync = { ...summaries.replicaSync, p50Ms: syncNanos.p50 / 1e6, p99Ms: syncNanos.p99 / 1e6 };
    return { ...summaries, syncNanos };
  } finally {
    for (const server of servers) await server.kill9();
    await removeTempDir(dir);
  }
}

async function coherenceRounds(options: WatchDeliveryOptions): Promise<{ baseline: RoundFigures; watchers: RoundFigures; replica: RoundFigures }> {
  const dir = await makeTempDir();
  let server: ServerProcess | undefined;
  try {
    const rawSocket = path.join(dir, 'fanout.sock');
    server = await startServer(benchScript('raw-fanout-server.js'), ['--socket', rawSocket], 'raw-fanout: listening');
    const baseline = await runRound(options, 'raw-watch-worker.js', rawSocket);
    await server.stop();
    const sidecarSocket = path.join(dir, 'sidecar.sock');
    server = await startSidecar(path.join(dir, 'conf', 'config.json'), sidecarSocket);
    const replica = await runRound(options, 'watch-worker.js', sidecarSocket, 'replica');
    await server.stop();
    // A fresh document: the round ends on `bench.done` becoming true, which the previous one already set.
    const watcherSocket = path.join(dir, 'watchers.sock');
    server = await startSidecar(path.join(dir, 'conf2', 'config.json'), watcherSocket);
    const watchers = await runRound(options, 'watch-worker.js', watcherSocket, 'watcher');
    return { baseline, watchers, replica };
  } finally {
    await server?.stop();
    await removeTempDir(dir);
  }
}

/** A ~1 MB document of many small maps (the costly shape for a copy: objects, not one long string). */
function megabyteDocument(): Record<string, unknown> {
  const doc: Record<string, Record<string, unknown>> = {};
  for (let s = 0; s < 100; s++) {
    const section: Record<string, unknown> = {};
    for (let k = 0; k < 100; k++) section[`key${k}`] = { enabled: k % 2 === 0, limit: k * 10, label: `section ${s} setting ${k} with a description of some length`, tags: ['a', 'b'] };
    doc[`section${s}`] = section;
  }
  return doc;
}

async function memoryPerReplica(replicas: number): Promise<{ documentBytes: number; bytesPerReplica: number }> {
  const dir = await makeTempDir();
  let server: ServerProcess | undefined;
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    await mkdir(path.dirname(configPath), { recursive: true });
    const json = JSON.stringify(megabyteDocument());
    await writeFile(configPath, json + '\n');
    const socketPath = path.join(dir, 'sidecar.sock');
    server = await startSidecar(configPath, socketPath);
    const [result] = await runWorkers<ReplicaMemoryResult>([{ script: 'replica-memory-worker.js', args: ['--socket', socketPath, '--clients', String(replicas)] }], 120_000);
    return { documentBytes: Buffer.byteLength(json), bytesPerReplica: result!.bytesPerReplica };
  } finally {
    await server?.stop();
    await removeTempDir(dir);
  }
}
