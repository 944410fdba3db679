// docs/defects.md, D25: `stats` must say how long requests
// take — writes until they are durable — and `stats --prometheus` must be
// something Prometheus can scrape.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { LATENCY_BUCKETS_MS, type LatencySnapshot } from '../../sidecar/ops/request-metrics.js';
import { startFaultySidecar } from '../helpers/faulty-sidecar.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { CLI } from '../helpers/paths.js';
import { checkHistograms, parsePrometheusText, type MetricFamily } from '../helpers/prometheus-text.js';
import { rawConnect } from '../helpers/raw-socket.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a write is timed until it is durable: a commit-journal datasync held 300 ms shows in its latency', async (t) => {
  const { faulty, client } = await startFaultySidecar(t);
  assert.deepEqual(await client.get(''), {});

  const HOLD_MS = 300;
  // The commit point is the journal's datasync (docs/decisions.md, "The commit journal"); the file is rewritten after the answer.
  const hold = faulty.holdAt('journal-sync');
  const write = client.set('slow', 1);
  await hold.entered;
  await delay(HOLD_MS); // the controlled variable: how long the disk "takes"
  hold.release();
  await write;

  const stats = await client.stats();
  const latency = stats.latency as LatencySnapshot;
  assert.deepEqual(latency.bucketsMs, [...LATENCY_BUCKETS_MS]);
  const set = latency.ops.set!;
  assert.equal(set.count, 1);
  assert.ok(set.sumMs >= HOLD_MS, `set latency ${set.sumMs} ms includes the ${HOLD_MS} ms datasync`);
  const fastBuckets = LATENCY_BUCKETS_MS.filter((bound) => bound < HOLD_MS).length;
  assert.equal(set.counts.slice(0, fastBuckets).reduce((a, b) => a + b, 0), 0, 'not counted in any bucket below the hold');
  const get = latency.ops.get!;
  assert.equal(get.count, 1);
  assert.equal(get.counts.reduce((a, b) => a + b, 0), get.count, 'every request lands in exactly one bucket');
});

test('stats --prometheus from a real sidecar parses back, and its numbers are the requests made', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const SETS = 3;
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  for (let i = 0; i < SETS; i++) await client.set(`k${i}`, i);
  await assert.rejects(client.getEntry('missing'), { code: 'NOT_FOUND' });

  const result = await runNode(CLI, ['stats', '--prometheus', '--socket', paths.socketPath]);
  assert.equal(result.code, 0, result.stderr);
  const families = parsePrometheusText(result.stdout);
  checkHistograms(families);
  const value = (name: string, labels: Record<string, string> = {}, sampleName = name) => {
    const sample = families.get(name)?.samples.find((s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.ok(sample !== undefined, `${sampleName} ${JSON.stringify(labels)}`);
    return sample.value;
  };
  const duration = 'config_sidecar_request_duration_seconds';
  assert.equal(value(duration, { op: 'set' }, `${duration}_count`), SETS);
  assert.ok(value(duration, { op: 'set' }, `${duration}_sum`) > 0);
  assert.equal(value(duration, { op: 'get' }, `${duration}_count`), 1);
  assert.equal(value('config_sidecar_request_errors_total', { op: 'get', code: 'NOT_FOUND' }), 1);
  assert.equal(value('config_sidecar_writes_committed_total'), SETS);
  assert.ok(value('config_sidecar_flushes_total') >= 1);
  assert.equal(value('config_sidecar_flush_failures_total'), 0);
  assert.equal(value('config_sidecar_revision'), SETS + 1);
  assert.equal(value('config_sidecar_connections'), 2, 'the writer and the stats command');
  assert.equal(value('config_sidecar_health_status', { status: 'ok' }), 1);
  assert.ok(value('config_sidecar_uptime_seconds') > 0);
  assert.ok(value('process_resident_memory_bytes') > 1024 * 1024);
  assert.ok(families.has('config_sidecar_event_loop_delay_p99_seconds'));
  assert.ok(value('config_sidecar_last_write_timestamp_seconds') * 1000 <= Date.now());
});

test('stats --prometheus: every family has its type, and each counter moves when its event happens', async (t) => {
  const paths = await testPaths(t);
  // Three connections at most: the test's client, one raw peer, and the stats command.
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--limit', 'maxConnections=3', '--limit', 'maxOutboundBytes=65536'] });
  const client = connect({ socketPath: paths.socketPath, name: 'metrics test' });
  t.after(() => client.close());
  const scrape = async () => {
    // The stats command needs a free slot: wait until connections closed above have been seen closed.
    for (let i = 0; (await client.stats()).connections !== 1; i++) {
      assert.ok(i < 500, 'connections were never closed');
      await delay(10);
    }
    const result = await runNode(CLI, ['stats', '--prometheus', '--socket', paths.socketPath]);
    assert.equal(result.code, 0, result.stderr);
    const families = parsePrometheusText(result.stdout);
    checkHistograms(families);
    return families;
  };
  const value = (families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}, sampleName = name) => {
    const sample = families.get(name)?.samples.find((s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.ok(sample !== undefined, `${sampleName} ${JSON.stringify(labels)}`);
    return sample.value;
  };
  const flushCount = (families: Map<string, MetricFamily>) => value(families, 'config_sidecar_flush_duration_seconds', {}, 'config_sidecar_flush_duration_seconds_count');

  const before = await scrape();
  const types: Record<string, string> = {
    process_cpu_user_seconds_total: 'counter',
    process_cpu_system_seconds_total: 'counter',
    process_cpu_seconds_total: 'counter',
    process_start_time_seconds: 'gauge',
    process_resident_memory_bytes: 'gauge',
    nodejs_heap_size_used_bytes: 'gauge',
    nodejs_heap_size_total_bytes: 'gauge',
    nodejs_external_memory_bytes: 'gauge',
    nodejs_eventloop_lag_seconds: 'gauge',
    config_sidecar_connections_refused_total: 'counter',
    config_sidecar_slow_reader_disconnects_total: 'counter',
    config_sidecar_watch_events_total: 'counter',
    config_sidecar_watch_resyncs_total: 'counter',
    config_sidecar_hand_edits_total: 'counter',
    config_sidecar_flush_duration_seconds: 'histogram',
    ...(process.platform === 'linux' ? { process_open_fds: 'gauge', process_max_fds: 'gauge' } : {}),
  };
  for (const [name, type] of Object.entries(types)) assert.equal(before.get(name)?.type, type, name);
  const startedAt = value(before, 'process_start_time_seconds');
  assert.ok(Math.abs(startedAt - Date.now() / 1000) < 600, `started ${startedAt}`);
  if (process.platform === 'linux') assert.ok(value(before, 'process_open_fds') > 3);

  // A watch event: one set under a watched path.
  const events: unknown[] = [];
  const watching = new Promise<void>((resolve) => {
    const handle = client.watch('w', (event) => {
      events.push(event);
      if (events.length === 2) resolve();
    });
    t.after(() => handle.close());
  });
  await client.set('w', 1);
  await watching;

  // A resync: resuming in another epoch gets a snapshot instead.
  const peer = await rawConnect(paths.socketPath);
  await peer.hello();
  const resumed = await peer.request({ id: 1, op: 'watch', path: '', startRevision: 1, epoch: 'another-epoch' });
  assert.equal(resumed.resync, 'epoch');
  // A refused connection: the client and the peer hold two of three slots; the third is taken, the fourth refused.
  const third = await rawConnect(paths.socketPath);
  await third.hello();
  const fourth = await rawConnect(paths.socketPath);
  const refusal = await fourth.hello();
  assert.equal((refusal.error as { code?: string } | undefined)?.code, 'LIMIT_EXCEEDED', JSON.stringify(refusal));
  third.destroy();
  fourth.destroy();

  // A slow reader: the peer watches and stops reading while large values are written.
  peer.pause();
  for (let i = 0; !sidecar.stderr().includes('closing a connection whose reader is too slow'); i++) {
    assert.ok(i < 2000, `the stalled watcher was never cut off; stderr:\n${sidecar.stderr()}`);
    await client.set('big', `${i}`.padEnd(16_384, 'w'));
  }
  peer.resume();
  await peer.closed();

  // Hand edits: one valid (applied), then one that does not parse (rejected), each made to a file holding the committed state.
  await fileCaughtUp(client);
  const current = (await client.get('')) as Record<string, unknown>;
  await writeFile(paths.configPath, JSON.stringify({ ...current, hand: 'edited' }));
  for (let i = 0; (await client.get('hand').catch(() => undefined)) !== 'edited'; i++) {
    assert.ok(i < 1000, 'the hand edit was never applied');
    await delay(10);
  }
  await fileCaughtUp(client);
  await writeFile(paths.configPath, '{"hand": ');
  for (let i = 0; (await client.health()).fileValid; i++) {
    assert.ok(i < 1000, 'the broken file was never noticed');
    await delay(10);
  }

  const after = await scrape();
  const moved = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
  assert.equal(moved('config_sidecar_connections_refused_total'), 1);
  assert.equal(moved('config_sidecar_watch_resyncs_total'), 1);
  assert.ok(moved('config_sidecar_watch_events_total') >= 2, 'the set of w, and the big values before the cut-off');
  assert.equal(moved('config_sidecar_slow_reader_disconnects_total'), 1);
  assert.equal(moved('config_sidecar_hand_edits_total', { outcome: 'applied' }), 1);
  assert.equal(moved('config_sidecar_hand_edits_total', { outcome: 'rejected' }), 1);
  assert.equal(moved('config_sidecar_hand_edits_total', { outcome: 'merged' }), 0);
  // Every flush is timed: as many observations as flushes, and more than before.
  assert.equal(flushCount(after), value(after, 'config_sidecar_flushes_total') + value(after, 'config_sidecar_flush_failures_total'));
  assert.ok(flushCount(after) > flushCount(before));
  assert.ok(value(after, 'process_cpu_user_seconds_total') >= value(before, 'process_cpu_user_seconds_total'));
  // The slow reader's warning names its client.
  const warning = sidecar
    .stderr()
    .split('\n')
    .find((line) => line.includes('closing a connection whose reader is too slow'));
  assert.deepEqual((JSON.parse(warning!) as { client: unknown }).client, { name: 'raw', pid: process.pid });
});
