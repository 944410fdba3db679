// docs/defects.md, D25: `stats` must say how long requests
// take — writes until they are durable — and `stats --prometheus` must be
// something Prometheus can scrape.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { LATENCY_BUCKETS_MS, type LatencySnapshot } from '../../sidecar/request-metrics.js';
import { startFaultySidecar } from '../helpers/faulty-sidecar.js';
import { CLI } from '../helpers/paths.js';
import { checkHistograms, parsePrometheusText } from '../helpers/prometheus-text.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a write is timed until it is durable: a directory fsync held 300 ms shows in its latency', async (t) => {
  const { faulty, client } = await startFaultySidecar(t);
  assert.deepEqual(await client.get(''), {});

  const HOLD_MS = 300;
  const hold = faulty.holdAt('fsync-dir');
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
  assert.ok(set.sumMs >= HOLD_MS, `set latency ${set.sumMs} ms includes the ${HOLD_MS} ms fsync`);
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
  assert.ok(value('config_sidecar_resident_memory_bytes') > 1024 * 1024);
  assert.ok(families.has('config_sidecar_event_loop_delay_p99_seconds'));
  assert.ok(value('config_sidecar_last_write_timestamp_seconds') * 1000 <= Date.now());
});
