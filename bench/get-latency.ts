// Workload 1: `get` of a small key, sidecar vs a raw node:net msgpack echo
// server (the transport's limit). Both servers run as their own processes;
// load comes from separate client processes.
//   serial      one client process, one request at a time: p50 / p99
//   throughput  4 client processes x 32 requests in flight: requests/s
// Three targets: the raw echo and the sidecar through the same thin framed
// client (this pair isolates the sidecar's own work and is what the goals
// judge), and the sidecar through the real client library (what an
// application sees). Targets alternate within each round, and the best
// round per target is kept, so a burst of noise on the VM does not decide a
// ratio.
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { benchScript, makeTempDir, removeTempDir, runWorkers, startServer, startSidecar, type ServerProcess } from './bench-processes.js';
import type { GetWorkerResult } from './get-worker.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import { markdownTable, ms, ratio, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface GetLatencyOptions {
  rounds: number;
  serialCount: number;
  serialWarmup: number;
  throughputProcesses: number;
  throughputInFlight: number;
  throughputWarmupMs: number;
  throughputDurationMs: number;
}

type Target = 'raw' | 'sidecarFramed' | 'sidecarLibrary';
const TARGETS: readonly Target[] = ['raw', 'sidecarFramed', 'sidecarLibrary'];
const LABELS: Record<Target, string> = {
  raw: 'raw node:net echo (baseline)',
  sidecarFramed: 'sidecar, thin framed client',
  sidecarLibrary: 'sidecar, client library',
};

const KEY_PATH = 'app.features.darkMode';
const KEY_VALUE = 'enabled-for-beta-users';

interface SerialRun {
  summary: LatencySummary;
  requestsPerSecond: number;
  errors: number;
}

interface ThroughputRun {
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: number;
}

export async function runGetLatency(options: GetLatencyOptions): Promise<WorkloadReport> {
  const dir = await makeTempDir();
  const servers: ServerProcess[] = [];
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    await mkdir(path.dirname(configPath), { recursive: true });
    await writeFile(configPath, JSON.stringify({ app: { name: 'bench', features: { darkMode: KEY_VALUE, beta: true } }, server: { port: 8080 } }, null, 2) + '\n');
    const sidecarSocket = path.join(dir, 'sidecar.sock');
    const rawSocket = path.join(dir, 'raw.sock');
    servers.push(await startSidecar(configPath, sidecarSocket));
    servers.push(await startServer(benchScript('raw-echo-server.js'), ['--socket', rawSocket, '--value', JSON.stringify(KEY_VALUE)], 'raw-echo: listening'));
    const socketOf = (target: Target) => (target === 'raw' ? rawSocket : sidecarSocket);
    const clientOf = (target: Target) => (target === 'sidecarLibrary' ? 'library' : 'framed');

    const serial: Record<Target, SerialRun[]> = { raw: [], sidecarFramed: [], sidecarLibrary: [] };
    const throughput: Record<Target, ThroughputRun[]> = { raw: [], sidecarFramed: [], sidecarLibrary: [] };
    for (let round = 0; round < options.rounds; round++) {
      for (const target of TARGETS) {
        const [r] = await runWorkers<GetWorkerResult>(
          [
            {
              script: 'get-worker.js',
              args: ['--socket', socketOf(target), '--client', clientOf(target), '--mode', 'serial', '--path', KEY_PATH, '--count', String(options.serialCount), '--warmup', String(options.serialWarmup)],
            },
          ],
          120_000,
        );
        serial[target].push({
          summary: LatencyHistogram.from(r!.latency).summary(),
          requestsPerSecond: (r!.count / r!.elapsedMs) * 1000,
          errors: r!.errors,
        });
      }
      for (const target of TARGETS) {
        const results = await runWorkers<GetWorkerResult>(
          Array.from({ length: options.throughputProcesses }, () => ({
            script: 'get-worker.js',
            args: [
              '--socket', socketOf(target), '--client', clientOf(target), '--mode', 'pipelined', '--path', KEY_PATH,
              '--in-flight', String(options.throughputInFlight),
              '--warmup-ms', String(options.throughputWarmupMs),
              '--duration-ms', String(options.throughputDurationMs),
            ],
          })),
          options.throughputWarmupMs + options.throughputDurationMs + 60_000,
        );
        const total = results.reduce((sum, r) => sum + r.count, 0);
        throughput[target].push({
          requestsPerSecond: (total / options.throughputDurationMs) * 1000,
          latency: LatencyHistogram.mergeAll(results.map((r) => r.latency)).summary(),
          errors: results.reduce((sum, r) => sum + r.errors, 0),
        });
      }
    }
    for (const server of servers.splice(0)) await server.stop();

    const bestSerial = (t: Target) => serial[t].reduce((a, b) => (b.summary.p50Ms < a.summary.p50Ms ? b : a));
    const bestThroughput = (t: Target) => throughput[t].reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
    const raw = { serial: bestSerial('raw'), throughput: bestThroughput('raw') };
    const framed = { serial: bestSerial('sidecarFramed'), throughput: bestThroughput('sidecarFramed') };
    const library = { serial: bestSerial('sidecarLibrary'), throughput: bestThroughput('sidecarLibrary') };
    const p50Ratio = ratio(framed.serial.summary.p50Ms, raw.serial.summary.p50Ms);
    const throughputRatio = ratio(framed.throughput.requestsPerSecond, raw.throughput.requestsPerSecond);
    const errors = TARGETS.reduce((sum, t) => sum + serial[t].reduce((s, r) => s + r.errors, 0) + throughput[t].reduce((s, r) => s + r.errors, 0), 0);

    const goals: Goal[] = [
      { goal: 'get p50 (serial): sidecar ≤ 1.3× raw', measured: `${p50Ratio}× (${ms(framed.serial.summary.p50Ms)} vs ${ms(raw.serial.summary.p50Ms)} ms)`, pass: p50Ratio <= 1.3 },
      {
        goal: `get throughput (${options.throughputProcesses}×${options.throughputInFlight}): sidecar ≥ 75% of raw`,
        measured: `${Math.round(throughputRatio * 100)}% (${whole(framed.throughput.requestsPerSecond)} vs ${whole(raw.throughput.requestsPerSecond)} req/s)`,
        pass: throughputRatio >= 0.75,
      },
      { goal: 'get: no failed requests', measured: `${errors} errors`, pass: errors === 0 },
    ];

    const rows = TARGETS.map((t) => {
      const s = bestSerial(t);
      const tp = bestThroughput(t);
      return [
        LABELS[t],
        ms(s.summary.p50Ms),
        ms(s.summary.p99Ms),
        `${ratio(s.summary.p50Ms, raw.serial.summary.p50Ms)}×`,
        whole(tp.requestsPerSecond),
        `${Math.round(ratio(tp.requestsPerSecond, raw.throughput.requestsPerSecond) * 100)}%`,
        ms(tp.latency.p50Ms),
        ms(tp.latency.p99Ms),
      ];
    });
    const markdown = [
      `Key \`${KEY_PATH}\` (a short string). Serial: 1 client process, ${whole(options.serialCount)} round trips after ${whole(options.serialWarmup)} warm-up. ` +
        `Throughput: ${options.throughputProcesses} client processes × ${options.throughputInFlight} in flight, ${options.throughputDurationMs / 1000} s after ${options.throughputWarmupMs / 1000} s warm-up. ` +
        `Best of ${options.rounds} alternating round(s) per target.`,
      '',
      markdownTable(['target', 'serial p50 ms', 'serial p99 ms', 'p50 vs raw', 'throughput req/s', 'vs raw', 'loaded p50 ms', 'loaded p99 ms'], rows),
    ].join('\n');

    return {
      key: 'getLatency',
      title: '1. get latency and throughput vs raw msgpack echo',
      data: {
        options,
        key: KEY_PATH,
        best: {
          raw,
          sidecarFramed: framed,
          sidecarLibrary: library,
        },
        ratios: {
          serialP50SidecarVsRaw: p50Ratio,
          serialP99SidecarVsRaw: ratio(framed.serial.summary.p99Ms, raw.serial.summary.p99Ms),
          serialP50LibraryVsRaw: ratio(library.serial.summary.p50Ms, raw.serial.summary.p50Ms),
          throughputSidecarVsRaw: throughputRatio,
          throughputLibraryVsRaw: ratio(library.throughput.requestsPerSecond, raw.throughput.requestsPerSecond),
        },
        rounds: { serial, throughput },
      },
      markdown,
      goals,
    };
  } finally {
    for (const server of servers) await server.kill9();
    await removeTempDir(dir);
  }
}
