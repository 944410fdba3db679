// Workload 1: `get` of a small key, sidecar vs a raw node:net msgpack echo
// server (the transport's limit). Both servers run as their own processes;
// load comes from separate client processes.
//   serial      one client process, one request at a time: p50 / p99
//   throughput  4 client processes x 32 requests in flight: requests/s
// Three targets: the raw echo and the sidecar through the same thin framed
// client (this pair isolates the sidecar's own work and is what the goals
// judge), and the sidecar through the real client library (what an
// application sees). Both servers are warmed up first; then the targets
// alternate within each round so that a noisy moment of a shared VM hits
// them alike. Serial samples are pooled over the rounds; throughput ratios
// are the median of the per-round ratios. The servers' CPU time per request
// (from /proc) is reported too: with client processes sharing the same
// cores, wall-clock throughput dilutes any difference in server work.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { benchScript, makeTempDir, removeTempDir, runWorkers, startServer, startSidecar, type ServerProcess } from './bench-processes.js';
import type { GetWorkerResult } from './get-worker.js';
import { LatencyHistogram, round, type HistogramData, type LatencySummary } from './latency-histogram.js';
import { processCpuMs } from './process-cpu-time.js';
import { markdownTable, ms, ratio, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface GetLatencyOptions {
  rounds: number;
  /** Serial round trips per target per round. */
  serialCount: number;
  serialWarmup: number;
  throughputProcesses: number;
  throughputInFlight: number;
  throughputWarmupMs: number;
  throughputDurationMs: number;
  /** Unmeasured pipelined load on each server before the first round (JIT warm-up). */
  serverWarmupMs: number;
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
  latency: HistogramData;
  errors: number;
  /** Server CPU time per request, µs. */
  serverCpuUsPerRequest: number | undefined;
}

interface ThroughputRun {
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: number;
  serverCpuUsPerRequest: number | undefined;
}

interface TargetFigures {
  serial: LatencySummary;
  serialServerCpuUsPerRequest: number | undefined;
  throughputRequestsPerSecond: number;
  throughputLatency: LatencySummary;
  throughputServerCpuUsPerRequest: number | undefined;
}

export async function runGetLatency(options: GetLatencyOptions): Promise<WorkloadReport> {
  const dir = await makeTempDir();
  const servers: ServerProcess[] = [];
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    await mkdir(path.dirname(configPath), { recursive: true });
    const config = { app: { name: 'bench', features: { darkMode: KEY_VALUE, beta: true } }, server: { port: 8080 } };
    await writeFile(configPath, JSON.stringify(config, null, 2) + '\n');
    const sidecarSocket = path.join(dir, 'sidecar.sock');
    const rawSocket = path.join(dir, 'raw.sock');
    const sidecar = await startSidecar(configPath, sidecarSocket);
    servers.push(sidecar);
    const raw = await startServer(benchScript('raw-echo-server.js'), ['--socket', rawSocket, '--value', JSON.stringify(KEY_VALUE)], 'raw-echo: listening');
    servers.push(raw);
    const socketOf = (target: Target) => (target === 'raw' ? rawSocket : sidecarSocket);
    const serverOf = (target: Target) => (target === 'raw' ? raw : sidecar);
    const clientOf = (target: Target) => (target === 'sidecarLibrary' ? 'library' : 'framed');

    const serialSpec = (target: Target) => ({
      script: 'get-worker.js',
      args: ['--socket', socketOf(target), '--client', clientOf(target), '--mode', 'serial', '--path', KEY_PATH, '--count', String(options.serialCount), '--warmup', String(options.serialWarmup)],
    });
    const pipelinedSpecs = (target: Target, warmupMs: number, durationMs: number) =>
      Array.from({ length: options.throughputProcesses }, () => ({
        script: 'get-worker.js',
        args: [
          '--socket', socketOf(target), '--client', clientOf(target), '--mode', 'pipelined', '--path', KEY_PATH,
          '--in-flight', String(options.throughputInFlight), '--warmup-ms', String(warmupMs), '--duration-ms', String(durationMs),
        ],
      }));
    /** Runs the workers and measures the server's CPU time over the run. */
    const measured = async (target: Target, specs: ReturnType<typeof serialSpec>[], deadlineMs: number) => {
      const server = serverOf(target);
      const cpuBefore = await processCpuMs(server.pid);
      const results = await runWorkers<GetWorkerResult>(specs, deadlineMs);
      const cpuAfter = await processCpuMs(server.pid);
      return { results, serverCpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore };
    };
    const perRequestUs = (cpuMs: number | undefined, requests: number) => (cpuMs === undefined || requests === 0 ? undefined : round((cpuMs * 1000) / requests, 1));

    for (const target of ['raw', 'sidecarFramed'] as const) {
      await runWorkers<GetWorkerResult>(pipelinedSpecs(target, 0, options.serverWarmupMs), options.serverWarmupMs + 60_000);
    }

    const serial: Record<Target, SerialRun[]> = { raw: [], sidecarFramed: [], sidecarLibrary: [] };
    const throughput: Record<Target, ThroughputRun[]> = { raw: [], sidecarFramed: [], sidecarLibrary: [] };
    for (let r = 0; r < options.rounds; r++) {
      for (const target of TARGETS) {
        const { results, serverCpuMs } = await measured(target, [serialSpec(target)], 120_000);
        const result = results[0]!;
        // Server CPU covers the worker's warm-up requests too.
        serial[target].push({ latency: result.latency, errors: result.errors, serverCpuUsPerRequest: perRequestUs(serverCpuMs, result.count + options.serialWarmup) });
      }
      for (const target of TARGETS) {
        const window = options.throughputWarmupMs + options.throughputDurationMs;
        const { results, serverCpuMs } = await measured(target, pipelinedSpecs(target, options.throughputWarmupMs, options.throughputDurationMs), window + 60_000);
        const measuredCount = results.reduce((sum, x) => sum + x.count, 0);
        const requestsPerSecond = (measuredCount / options.throughputDurationMs) * 1000;
        throughput[target].push({
          requestsPerSecond,
          latency: LatencyHistogram.mergeAll(results.map((x) => x.latency)).summary(),
          errors: results.reduce((sum, x) => sum + x.errors, 0),
          // CPU covers warm-up too: estimate its requests at the measured rate.
          serverCpuUsPerRequest: perRequestUs(serverCpuMs, (requestsPerSecond * window) / 1000),
        });
      }
    }
    for (const server of servers.splice(0)) await server.stop();

    const figures = (t: Target): TargetFigures => {
      const medianRun = median(throughput[t], (x) => x.requestsPerSecond);
      return {
        serial: LatencyHistogram.mergeAll(serial[t].map((x) => x.latency)).summary(),
        serialServerCpuUsPerRequest: medianOf(serial[t].map((x) => x.serverCpuUsPerRequest)),
        throughputRequestsPerSecond: medianRun.requestsPerSecond,
        throughputLatency: medianRun.latency,
        throughputServerCpuUsPerRequest: medianOf(throughput[t].map((x) => x.serverCpuUsPerRequest)),
      };
    };
    const fig: Record<Target, TargetFigures> = { raw: figures('raw'), sidecarFramed: figures('sidecarFramed'), sidecarLibrary: figures('sidecarLibrary') };
    const pairedThroughputRatio = (t: Target) =>
      medianOf(throughput[t].map((x, i) => ratio(x.requestsPerSecond, throughput.raw[i]!.requestsPerSecond)))!;
    const p50Ratio = ratio(fig.sidecarFramed.serial.p50Ms, fig.raw.serial.p50Ms);
    const throughputRatio = pairedThroughputRatio('sidecarFramed');
    const errors = TARGETS.reduce((sum, t) => sum + serial[t].reduce((s, x) => s + x.errors, 0) + throughput[t].reduce((s, x) => s + x.errors, 0), 0);

    const goals: Goal[] = [
      {
        goal: 'get p50 (serial): sidecar ≤ 1.3× raw echo',
        measured: `${p50Ratio}× (${ms(fig.sidecarFramed.serial.p50Ms)} vs ${ms(fig.raw.serial.p50Ms)} ms)`,
        pass: p50Ratio <= 1.3,
      },
      {
        goal: `get throughput (${options.throughputProcesses}×${options.throughputInFlight}): sidecar ≥ 75% of raw echo`,
        measured: `${Math.round(throughputRatio * 100)}% (${whole(fig.sidecarFramed.throughputRequestsPerSecond)} vs ${whole(fig.raw.throughputRequestsPerSecond)} req/s)`,
        pass: throughputRatio >= 0.75,
      },
      { goal: 'get: no failed requests', measured: `${errors} errors`, pass: errors === 0 },
    ];

    const cpu = (us: number | undefined) => (us === undefined ? 'n/a' : us.toFixed(1));
    const rows = TARGETS.map((t) => [
      LABELS[t],
      ms(fig[t].serial.p50Ms),
      ms(fig[t].serial.p99Ms),
      `${ratio(fig[t].serial.p50Ms, fig.raw.serial.p50Ms)}×`,
      whole(fig[t].throughputRequestsPerSecond),
      t === 'raw' ? '100%' : `${Math.round(pairedThroughputRatio(t) * 100)}%`,
      ms(fig[t].throughputLatency.p50Ms),
      ms(fig[t].throughputLatency.p99Ms),
      cpu(fig[t].throughputServerCpuUsPerRequest),
    ]);
    const markdown = [
      `Key \`${KEY_PATH}\` (a short string). Serial: 1 client process, ${whole(options.serialCount)} round trips per round after ${whole(options.serialWarmup)} warm-up, ` +
        `pooled over ${options.rounds} round(s). Throughput: ${options.throughputProcesses} client processes × ${options.throughputInFlight} in flight, ` +
        `${options.throughputDurationMs / 1000} s after ${options.throughputWarmupMs / 1000} s warm-up; median round, ratio = median of per-round ratios. ` +
        `Server CPU/req: the server process's user+system CPU time over the throughput run divided by requests served.`,
      '',
      markdownTable(
        ['target', 'serial p50 ms', 'serial p99 ms', 'p50 vs raw', 'throughput req/s', 'vs raw', 'loaded p50 ms', 'loaded p99 ms', 'server CPU µs/req'],
        rows,
      ),
    ].join('\n');

    return {
      key: 'getLatency',
      title: '1. get latency and throughput vs raw msgpack echo',
      data: {
        options,
        key: KEY_PATH,
        figures: fig,
        ratios: {
          serialP50SidecarVsRaw: p50Ratio,
          serialP99SidecarVsRaw: ratio(fig.sidecarFramed.serial.p99Ms, fig.raw.serial.p99Ms),
          serialP50LibraryVsRaw: ratio(fig.sidecarLibrary.serial.p50Ms, fig.raw.serial.p50Ms),
          throughputSidecarVsRaw: throughputRatio,
          throughputLibraryVsRaw: pairedThroughputRatio('sidecarLibrary'),
          serverCpuPerRequestSidecarVsRaw:
            fig.raw.throughputServerCpuUsPerRequest && fig.sidecarFramed.throughputServerCpuUsPerRequest
              ? ratio(fig.sidecarFramed.throughputServerCpuUsPerRequest, fig.raw.throughputServerCpuUsPerRequest)
              : null,
        },
        rounds: {
          serial: Object.fromEntries(TARGETS.map((t) => [t, serial[t].map((x) => ({ ...LatencyHistogram.from(x.latency).summary(), errors: x.errors, serverCpuUsPerRequest: x.serverCpuUsPerRequest }))])),
          throughput,
        },
      },
      markdown,
      goals,
    };
  } finally {
    for (const server of servers) await server.kill9();
    await removeTempDir(dir);
  }
}

/** The element with the median key (lower median for an even count). */
function median<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function medianOf(values: readonly (number | undefined)[]): number | undefined {
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (known.length === 0) return undefined;
  return median(known, (v) => v);
}
