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
    const watcherCount = options.watcherProcesses * options.watchersPerProcess;
    const expected = writer.events * watcherCount;
    const delivered = watchers.reduce((n, w) => n + w.events, 0);
    const resyncs = watchers.reduce((n, w) => n + w.resyncs, 0);
    const markdown = [
      `${watcherCount} watchers (${options.watcherProcesses} processes × ${options.watchersPerProcess} clients) watch \`bench\`; one writer sets ` +
        `\`bench.t\` to its send time every ${options.intervalMs} ms for ${options.durationMs / 1000} s. Delivery latency = receipt − send ` +
        `(same system clock), so it includes the durable write; the writer's set latency (send → durable ack) is shown for comparison.`,
      '',
      markdownTable(
        ['watchers', 'changes', 'deliveries (expected)', 'resyncs', 'delivery p50 ms', 'delivery p99 ms', 'delivery max ms', 'writer set p50 ms', 'writer set p99 ms'],
        [[watcherCount, whole(writer.events), `${whole(delivered)} (${whole(expected)})`, resyncs, ms(delivery.p50Ms), ms(delivery.p99Ms), ms(delivery.maxMs), ms(set.p50Ms), ms(set.p99Ms)]],
      ),
    ].join('\n');
    return {
      key: 'watchDelivery',
      title: '4. Watch: change-to-delivery latency with 100 watchers',
      data: { options, delivery, set, delivered, expected, resyncs },
      markdown,
      goals: [
        { goal: `watch delivery p99 with ${watcherCount} watchers < 5 ms`, measured: `${ms(delivery.p99Ms)} ms (p50 ${ms(delivery.p50Ms)})`, pass: delivery.p99Ms < 5 },
        { goal: 'every change delivered to every watcher', measured: `${whole(delivered)} of ${whole(expected)}`, pass: delivered === expected },
      ],
    };
  } finally {
    await sidecar.stop();
    await removeTempDir(dir);
  }
}
