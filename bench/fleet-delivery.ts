// Fleet change to delivery: a writer puts a timestamp under an etcd prefix
// every few milliseconds; a fleet source (which saves each batch durably before
// delivering it) and, as the baseline in the same run, a bare etcd3 watch on
// the same prefix note when each put reaches them. All three share one process
// and one clock; etcd runs as its own process on a temp data dir.
//   node dist/bench/fleet-delivery.js [--puts N] [--interval-ms N]
// Prints a markdown table and writes bench/results/fleet-delivery.{json,md}.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openEtcdClient } from '../sidecar/fleet/etcd-client.js';
import { FleetSource } from '../sidecar/fleet/fleet-source.js';
import { launchEtcd } from '../test/helpers/etcd-server.js';
import { LatencyHistogram, round, type LatencySummary } from './latency-histogram.js';

const PREFIX = '/bench/fleet/';
const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

const { values } = parseArgs({ options: { puts: { type: 'string', default: '2000' }, 'interval-ms': { type: 'string', default: '5' } } });
const puts = Number(values.puts);
const intervalMs = Number(values['interval-ms']);

const cleanups: { name: string; step: () => Promise<void> }[] = [];
try {
  const etcd = await launchEtcd(undefined, (name, step) => cleanups.push({ name, step }));
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'cs-fleet-bench-'));
  cleanups.push({ name: 'remove the state dir', step: () => rm(stateDir, { recursive: true, force: true }) });
  const connection = { endpoints: [etcd.endpoint], prefix: PREFIX };

  const bare = new LatencyHistogram();
  const fleet = new LatencyHistogram();
  const sent = new Map<number, number>();
  const sentAt = (value: unknown) => (typeof value === 'object' && value !== null && 'n' in value ? sent.get(Number(value.n)) : undefined);

  const watchClient = await openEtcdClient(connection);
  cleanups.push({ name: 'close the bare watch', step: async () => watchClient.close() });
  const watcher = await watchClient.watch().prefix(PREFIX).create();
  // Cancelled before its client closes: an attached etcd3 watcher would keep reconnecting.
  cleanups.push({ name: 'cancel the bare watch', step: () => watcher.cancel() });
  watcher.on('put', (kv) => {
    const at = sentAt(JSON.parse(kv.value.toString()));
    if (at !== undefined) bare.record(performance.now() - at);
  });

  let delivered = 0;
  const source = await FleetSource.start({
    connection,
    stateDir,
    onChange: (change) => {
      const at = sentAt(change.document['t']);
      if (at !== undefined) fleet.record(performance.now() - at);
      delivered++;
    },
  });
  cleanups.push({ name: 'close the fleet source', step: () => source.close() });
  const deadline = Date.now() + 10_000;
  while (delivered === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  if (delivered === 0) throw new Error(`the fleet source did not read etcd within 10 s: ${JSON.stringify(source.status())}`);

  const writer = await openEtcdClient(connection);
  cleanups.push({ name: 'close the writer', step: async () => writer.close() });
  const putLatency = new LatencyHistogram();
  for (let n = 0; n < puts; n++) {
    sent.set(n, performance.now());
    await writer.put(`${PREFIX}t`).value(JSON.stringify({ n })).exec();
    putLatency.record(performance.now() - (sent.get(n) as number));
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const settle = Date.now() + 10_000;
  while ((fleet.size < puts || bare.size < puts) && Date.now() < settle) await new Promise((resolve) => setTimeout(resolve, 20));

  const rows: [string, LatencySummary][] = [
    ['bare etcd3 watch (baseline)', bare.summary()],
    ['fleet source (durable, then delivered)', fleet.summary()],
    ['the writer\'s own put', putLatency.summary()],
  ];
  const [bareSummary, fleetSummary] = [rows[0]?.[1] as LatencySummary, rows[1]?.[1] as LatencySummary];
  const lines = [
    `# Fleet change to delivery`,
    '',
    `\`node dist/bench/fleet-delivery.js --puts ${puts} --interval-ms ${intervalMs}\`, ${new Date().toISOString()}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
    '| from the put being sent to | count | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|',
    ...rows.map(([name, s]) => `| ${name} | ${s.count} | ${round(s.p50Ms)} | ${round(s.p99Ms)} | ${round(s.maxMs)} |`),
    '',
    `p99 above the bare watch: ${round(fleetSummary.p99Ms - bareSummary.p99Ms)} ms (goal: at most 5 ms).`,
  ];
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  await writeFile(path.join(RESULTS, 'fleet-delivery.md'), text);
  await writeFile(path.join(RESULTS, 'fleet-delivery.json'), JSON.stringify({ puts, intervalMs, at: new Date().toISOString(), loadavg: os.loadavg(), results: Object.fromEntries(rows) }, null, 2) + '\n');
} finally {
  for (const { name, step } of cleanups.reverse()) {
    await step().catch((error: unknown) => process.stderr.write(`cleanup "${name}" failed: ${(error as Error).message}\n`));
  }
}
