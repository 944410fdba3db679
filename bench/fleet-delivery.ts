// Fleet change to delivery: a writer puts a timestamp under an etcd prefix
// every few milliseconds; a watcher of a real sidecar serving that prefix as
// its fleet layer (`serve --fleet`, its own process), a fleet source on its own
// (which saves each batch durably before delivering it) and, as the baseline in
// the same run, a bare etcd3 watch on the same prefix note when each put
// reaches them. The writer and the three receivers share one process and one
// clock; etcd and the sidecar run as their own processes on temp directories.
//   node dist/bench/fleet-delivery.js [--puts N] [--interval-ms N]
// Prints a markdown table and writes bench/results/fleet-delivery.{json,md}.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openEtcdClient } from '../sidecar/fleet/etcd-client.js';
import { FleetSource } from '../sidecar/fleet/fleet-source.js';
import { launchEtcd } from '../test/helpers/etcd-server.js';
import { CLI } from '../test/helpers/paths.js';
import { waitForServing } from '../test/helpers/sidecar-process.js';
import { connect } from '../client/index.js';
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

  // The sidecar: its own process, serving the prefix as its fleet layer; a client here watches `t`.
  const sidecarDir = await mkdtemp(path.join(os.tmpdir(), 'cs-fleet-sidecar-'));
  cleanups.push({ name: 'remove the sidecar dir', step: () => rm(sidecarDir, { recursive: true, force: true }) });
  const socketPath = path.join(sidecarDir, 's.sock');
  const child = spawn(process.execPath, [CLI, 'serve', '--config', path.join(sidecarDir, 'conf', 'config.json'), '--socket', socketPath, '--log-level', 'warn', '--fleet', `etcd://${etcd.endpoint}${PREFIX}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let sidecarStderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (sidecarStderr += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  cleanups.push({
    name: 'stop the sidecar',
    step: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  });
  await waitForServing(child, () => sidecarStderr, exited);
  const sidecarClient = connect({ socketPath });
  cleanups.push({ name: 'close the sidecar client', step: () => sidecarClient.close() });
  const local = new LatencyHistogram();
  sidecarClient.watch('t', (event) => {
    for (const change of event.changes) {
      // The change is `t` itself (the first put) or `t.n` (each put after it).
      const value = (change as { value?: unknown }).value;
      const at = sentAt(typeof value === 'number' ? { n: value } : value);
      if (at !== undefined) local.record(performance.now() - at);
    }
  }, { initial: 'none' });
  await sidecarClient.ping();

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
  while ((fleet.size < puts || bare.size < puts || local.size < puts) && Date.now() < settle) await new Promise((resolve) => setTimeout(resolve, 20));

  const rows: [string, LatencySummary][] = [
    ['bare etcd3 watch (baseline)', bare.summary()],
    ['fleet source (durable, then delivered)', fleet.summary()],
    ['watcher of a sidecar serving the fleet layer', local.summary()],
    ['the writer\'s own put', putLatency.summary()],
  ];
  const [bareSummary, fleetSummary, localSummary] = [rows[0]?.[1] as LatencySummary, rows[1]?.[1] as LatencySummary, rows[2]?.[1] as LatencySummary];
  const lines = [
    `# Fleet change to delivery`,
    '',
    `\`node dist/bench/fleet-delivery.js --puts ${puts} --interval-ms ${intervalMs}\`, ${new Date().toISOString()}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
    '| from the put being sent to | count | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|',
    ...rows.map(([name, s]) => `| ${name} | ${s.count} | ${round(s.p50Ms)} | ${round(s.p99Ms)} | ${round(s.maxMs)} |`),
    '',
    `Sidecar watcher p99 above the bare watch: ${round(localSummary.p99Ms - bareSummary.p99Ms)} ms (goal: at most 5 ms); ` +
      `p50 above it: ${round(localSummary.p50Ms - bareSummary.p50Ms)} ms. The source alone: p99 ${round(fleetSummary.p99Ms - bareSummary.p99Ms)} ms above.`,
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
