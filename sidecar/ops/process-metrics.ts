// The process facts Prometheus' client libraries export by default (CPU time,
// memory, open descriptors, start time, event-loop lag), measured here with
// Node's own APIs so the sidecar needs no metrics library. The names they map
// to are in cli/prometheus.ts and docs/operations.md ("Monitoring").
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessMetrics {
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  /** Unix time (s) the process started. */
  startTimeSeconds: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory of C++ objects bound to JavaScript ones (Buffers among them). */
  externalBytes: number;
  /** Open file descriptors; null where /proc/self/fd does not exist (not Linux). */
  openFds: number | null;
  /** The soft limit on open descriptors; null where /proc/self/limits does not exist. */
  maxFds: number | null;
  /** How late a callback queued now runs: the event loop's backlog at the moment of asking. */
  eventLoopLagSeconds: number;
}

export async function processMetrics(): Promise<ProcessMetrics> {
  const lag = eventLoopLag();
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const [openFds, maxFds] = await Promise.all([countOpenFds(), maxOpenFds()]);
  return {
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    startTimeSeconds: Math.round(Date.now() / 1000 - process.uptime()),
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    openFds,
    maxFds,
    eventLoopLagSeconds: await lag,
  };
}

/** Time from now until a setImmediate callback runs (as prom-client measures nodejs_eventloop_lag_seconds). */
function eventLoopLag(): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => setImmediate(() => resolve(Number(process.hrtime.bigint() - started) / 1e9)));
}

async function countOpenFds(): Promise<number | null> {
  if (process.platform !== 'linux') return null;
  // readdir holds one descriptor of its own on the directory while it lists it.
  return readdir('/proc/self/fd').then((entries) => entries.length - 1, () => null);
}

async function maxOpenFds(): Promise<number | null> {
  if (process.platform !== 'linux') return null;
  const text = await readFile('/proc/self/limits', 'utf8').catch(() => undefined);
  const soft = text?.match(/^Max open files\s+(\d+)/m)?.[1];
  return soft === undefined ? null : Number(soft);
}
