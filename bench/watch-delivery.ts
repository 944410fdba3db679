// Change-to-delivery latency with many watchers: one writer process sets a
// timestamp every few milliseconds; 100 watchers in 4 processes measure when
// each change reaches them. The figure includes making the write durable
// (the sidecar delivers committed revisions only); the writer's own set
// latency is reported beside it for that reason.
import path from 'node:path';
import { makeTempDir, removeTempDir, runWorkers, startSidecar } from './bench-processes.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { WatchWorkerResult } from './watch-worker.js';
import { markdownTable, ms, whole, type WorkloadReport } from './workload-report.js';

export interface WatchDeliveryOptions {
  watcherProcesses: number;
  watchersPerProcess: number;
  intervalMs: number;
  durationMs: number;
}

export async function runWatchDelivery(options: WatchDeliveryOptions): Promise<WorkloadReport> {
  const dir = await makeTempDir();
  const socketPath = path.join(dir, 'sidecar.sock');
  const sidecar = await startSidecar(path.join(dir, 'conf', 'config.json'), socketPath);
  try {
    const watcherArgs = ['--socket', socketPath, '--role', 'watcher', '--watchers', String(options.watchersPerProcess)];
    const specs = [
      ...Array.from({ length: options.watcherProcesses }, () => ({ script: 'watch-worker.js', args: watcherArgs })),
      {
        script: 'watch-worker.js',
        args: ['--socket', socketPath, '--role', 'writer', '--interval-ms', String(options.intervalMs), '--duration-ms', String(options.durationMs)],
      },
    ];
    const results = await runWorkers<WatchWorkerResult>(specs, options.durationMs + 60_000);
    const writer = results.find((r) => r.role === 'writer')!;
    const watchers = results.filter((r) => r.role === 'watcher');
    const delivery = LatencyHistogram.mergeAll(watchers.map((w) => w.latency)).summary();
    const set = LatencyHistogram.from(writer.latency).summary();
    const afterCommit = sinceAcknowledgement(writer.byRevision, watchers.map((w) => w.byRevision)).summary();
    const watcherCount = options.watcherProcesses * options.watchersPerProcess;
    const expected = writer.events * watcherCount;
    const delivered = watchers.reduce((n, w) => n + w.events, 0);
    const resyncs = watchers.reduce((n, w) => n + w.resyncs, 0);
    const markdown = [
      `${watcherCount} watchers (${options.watcherProcesses} processes × ${options.watchersPerProcess} clients) watch \`bench\`; one writer sets ` +
        `\`bench.t\` to its send time every ${options.intervalMs} ms for ${options.durationMs / 1000} s. Delivery latency = receipt − send ` +
        `(same system clock), so it includes the durable write; the writer's set latency (send → durable ack) is shown for comparison. ` +
        `"After commit" is each delivery's latency less the writer's set latency for the same revision: the time from the change being ` +
        `committed (durable, acknowledged) to its delivery, 0 when the watcher had it before the writer had its acknowledgement.`,
      '',
      markdownTable(
        ['watchers', 'changes', 'deliveries (expected)', 'resyncs', 'from send p50 ms', 'from send p99 ms', 'from send max ms', 'after commit p50 ms', 'after commit p99 ms', 'writer set p50 ms', 'writer set p99 ms'],
        [
          [
            watcherCount,
            whole(writer.events),
            `${whole(delivered)} (${whole(expected)})`,
            resyncs,
            ms(delivery.p50Ms),
            ms(delivery.p99Ms),
            ms(delivery.maxMs),
            ms(afterCommit.p50Ms),
            ms(afterCommit.p99Ms),
            ms(set.p50Ms),
            ms(set.p99Ms),
          ],
        ],
      ),
    ].join('\n');
    return {
      key: 'watchDelivery',
      title: '4. Watch: change-to-delivery latency with 100 watchers',
      data: { options, delivery, afterCommit, set, delivered, expected, resyncs },
      markdown,
      goals: [
        {
          goal: `watch delivery p99 with ${watcherCount} watchers < 5 ms, from commit`,
          measured: `${ms(afterCommit.p99Ms)} ms (p50 ${ms(afterCommit.p50Ms)})`,
          pass: afterCommit.p99Ms < 5,
        },
        { goal: `watch delivery from the writer's send, durable write included (reported)`, measured: `p99 ${ms(delivery.p99Ms)} ms (p50 ${ms(delivery.p50Ms)})`, pass: null },
        { goal: 'every change delivered to every watcher', measured: `${whole(delivered)} of ${whole(expected)}`, pass: delivered === expected },
      ],
    };
  } finally {
    await sidecar.stop();
    await removeTempDir(dir);
  }
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
