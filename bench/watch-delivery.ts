// Change-to-delivery latency with many watchers: one writer process sets a
// timestamp every few milliseconds; 100 watchers in 4 processes measure when
// each change reaches them. The figure includes making the write durable
// (the sidecar delivers committed revisions only); the writer's own set
// latency is reported beside it for that reason. The baseline, in the same
// run, is the same load on bare node:net connections to a server that only
// fans each change out (raw-fanout-server.ts): the floor of this transport,
// this codec and these two cores, with no store and no client library.
import path from 'node:path';
import { benchScript, makeTempDir, removeTempDir, runWorkers, startServer, startSidecar, type ServerProcess } from './bench-processes.js';
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js';
import type { WatchWorkerResult } from './watch-roles.js';
import { markdownTable, ms, whole, type WorkloadReport } from './workload-report.js';

export interface WatchDeliveryOptions {
  watcherProcesses: number;
  watchersPerProcess: number;
  intervalMs: number;
  durationMs: number;
}

/** One target's figures: latency from the writer's send, from its acknowledgement, and the writer's own wait. */
export interface RoundFigures {
  delivery: LatencySummary;
  afterCommit: LatencySummary;
  set: LatencySummary;
  changes: number;
  delivered: number;
  expected: number;
  resyncs: number;
  /** Per revision, the latest of its deliveries less the writer's set latency: until every watcher has it. */
  allAfterCommit: LatencySummary;
}

export async function runWatchDelivery(options: WatchDeliveryOptions): Promise<WorkloadReport> {
  const dir = await makeTempDir();
  let server: ServerProcess | undefined;
  try {
    const rawSocket = path.join(dir, 'fanout.sock');
    server = await startServer(benchScript('raw-fanout-server.js'), ['--socket', rawSocket], 'raw-fanout: listening');
    const raw = await runRound(options, 'raw-watch-worker.js', rawSocket);
    await server.stop();
    const sidecarSocket = path.join(dir, 'sidecar.sock');
    server = await startSidecar(path.join(dir, 'conf', 'config.json'), sidecarSocket);
    const sidecar = await runRound(options, 'watch-worker.js', sidecarSocket);
    const watcherCount = options.watcherProcesses * options.watchersPerProcess;
    const row = (target: string, f: RoundFigures) => [
      target,
      whole(f.changes),
      `${whole(f.delivered)} (${whole(f.expected)})`,
      f.resyncs,
      ms(f.delivery.p50Ms),
      ms(f.delivery.p99Ms),
      ms(f.delivery.maxMs),
      ms(f.afterCommit.p50Ms),
      ms(f.afterCommit.p99Ms),
      ms(f.set.p50Ms),
      ms(f.set.p99Ms),
    ];
    const markdown = [
      `${watcherCount} watchers (${options.watcherProcesses} processes × ${options.watchersPerProcess} clients) watch \`bench\`; one writer sets ` +
        `\`bench.t\` to its send time every ${options.intervalMs} ms for ${options.durationMs / 1000} s. Delivery latency = receipt − send ` +
        `(same system clock), so it includes the durable write; the writer's set latency (send → durable ack) is shown for comparison. ` +
        `"After commit" is each delivery's latency less the writer's set latency for the same revision: the time from the change being ` +
        `committed (durable, acknowledged) to its delivery, 0 when the watcher had it before the writer had its acknowledgement. ` +
        `The baseline runs the same processes as bare node:net connections (the project's framing and codec, no client library) against ` +
        `a server that writes each change to every subscriber and then acknowledges it, storing nothing.`,
      '',
      markdownTable(
        ['target', 'changes', 'deliveries (expected)', 'resyncs', 'from send p50 ms', 'from send p99 ms', 'from send max ms', 'after commit p50 ms', 'after commit p99 ms', 'writer set p50 ms', 'writer set p99 ms'],
        [row('bare node:net fan-out, no storage (baseline)', raw), row('sidecar, client library', sidecar)],
      ),
    ].join('\n');
    return {
      key: 'watchDelivery',
      title: `4. Watch: change-to-delivery latency with ${watcherCount} watchers`,
      data: { options, baseline: raw, sidecar },
      markdown,
      goals: [
        {
          goal: `watch delivery p99 with ${watcherCount} watchers < 5 ms, from commit`,
          measured: `${ms(sidecar.afterCommit.p99Ms)} ms (p50 ${ms(sidecar.afterCommit.p50Ms)}; bare fan-out baseline p99 ${ms(raw.afterCommit.p99Ms)} ms)`,
          pass: sidecar.afterCommit.p99Ms < 5,
        },
        {
          goal: `watch delivery from the writer's send, durable write included (reported)`,
          measured: `p99 ${ms(sidecar.delivery.p99Ms)} ms (p50 ${ms(sidecar.delivery.p50Ms)})`,
          pass: null,
        },
        { goal: 'every change delivered to every watcher', measured: `${whole(sidecar.delivered)} of ${whole(sidecar.expected)}`, pass: sidecar.delivered === sidecar.expected },
      ],
    };
  } finally {
    await server?.stop();
    await removeTempDir(dir);
  }
}

export async function runRound(options: WatchDeliveryOptions, script: string, socketPath: string, watcherRole = 'watcher'): Promise<RoundFigures> {
  const watcherArgs = ['--socket', socketPath, '--role', watcherRole, '--watchers', String(options.watchersPerProcess)];
  const specs = [
    ...Array.from({ length: options.watcherProcesses }, () => ({ script, args: watcherArgs })),
    { script, args: ['--socket', socketPath, '--role', 'writer', '--interval-ms', String(options.intervalMs), '--duration-ms', String(options.durationMs)] },
  ];
  const results = await runWorkers<WatchWorkerResult>(specs, options.durationMs + 60_000);
  const writer = results.find((r) => r.role === 'writer')!;
  const watchers = results.filter((r) => r.role === watcherRole);
  return {
    delivery: LatencyHistogram.mergeAll(watchers.map((w) => w.latency)).summary(),
    afterCommit: sinceAcknowledgement(writer.byRevision, watchers.map((w) => w.byRevision)).summary(),
    set: LatencyHistogram.from(writer.latency).summary(),
    changes: writer.events,
    delivered: watchers.reduce((n, w) => n + w.events, 0),
    expected: writer.events * options.watcherProcesses * options.watchersPerProcess,
    resyncs: watchers.reduce((n, w) => n + w.resyncs, 0),
    allAfterCommit: untilEveryWatcher(writer.byRevision, watchers.map((w) => w.byRevision)).summary(),
  };
}

/** Per revision, its last delivery's latency less its set latency (at least 0): from the acknowledgement until every watcher had it. */
function untilEveryWatcher(writer: readonly number[], watchers: readonly (readonly number[])[]): LatencyHistogram {
  const acked = new Map<number, number>();
  for (let i = 0; i < writer.length; i += 2) acked.set(writer[i]!, writer[i + 1]!);
  const latest = new Map<number, number>();
  for (const deliveries of watchers) {
    for (let i = 0; i < deliveries.length; i += 2) latest.set(deliveries[i]!, Math.max(latest.get(deliveries[i]!) ?? 0, deliveries[i + 1]!));
  }
  const histogram = new LatencyHistogram();
  for (const [revision, last] of latest) {
    const set = acked.get(revision);
    if (set !== undefined) histogram.record(Math.max(0, last - set));
  }
  return histogram;
}

/** Each delivery's latency less its revision's set latency (send → acknowledgement): time since commit, at least 0. */
function sinceAcknowledgement(writer: readonly number[], watchers: readonly (readonly number[])[]): LatencyHistogram {
  const acked = new Map<number, number>();
  for (let i = 0; i < writer.length; i += 2) acked.set(writer[i]!, writer[i + 1]!);
  const histogram = new LatencyHistogram();
  for (const deliveries of watchers) {
    for (let i = 0; i < deliveries.length; i += 2) {
      const set = acked.get(deliveries[i]!);
      if (set !== undefined) histogram.record(Math.max(0, deliveries[i + 1]! - set));
    }
  }
  return histogram;
}
