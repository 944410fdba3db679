// `stats --prometheus`: the formatter's output parsed back line by line as a
// scraper would, and the values checked against the stats they came from.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatPrometheus } from '../../cli/prometheus.js';
import { LATENCY_BUCKETS_MS, RequestMetrics } from '../../sidecar/ops/request-metrics.js';
import { checkHistograms, parsePrometheusText, type MetricFamily } from '../helpers/prometheus-text.js';

function statsFixture(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const metrics = new RequestMetrics();
  for (const ms of [0.05, 0.1, 0.3, 0.3, 7, 12_000]) metrics.observe('get', ms);
  metrics.observe('get', 0.2, 'NOT_FOUND');
  for (const ms of [3, 4, 30]) metrics.observe('set', ms);
  metrics.observe('set', 2, 'CONFLICT');
  return {
    epoch: 'a1b2c3d4e5f60718',
    revision: 42,
    version: '0.1.0',
    uptimeMs: 90_500,
    connections: 3,
    watches: 2,
    requests: metrics.requestCounts(),
    requestErrors: metrics.errorCounts(),
    latency: metrics.latencySnapshot(),
    flushes: 17,
    writesCommitted: 30,
    failedFlushes: 1,
    eventLoopDelay: { p50Ms: 0.5, p99Ms: 4.25, maxMs: 31 },
    memory: { rssBytes: 52_428_800, heapUsedBytes: 10_485_760 },
    health: { status: 'degraded', reasons: ['last write failed: EIO'], fileValid: true, memoryEqualsDisk: true, readOnly: false, lastWriteAt: '2025-01-02T03:04:05.500Z' },
    process: {
      cpuUserSeconds: 1.25,
      cpuSystemSeconds: 0.5,
      startTimeSeconds: 1_735_787_045,
      heapUsedBytes: 10_485_760,
      heapTotalBytes: 20_971_520,
      externalBytes: 1_048_576,
      openFds: 23,
      maxFds: 1024,
      eventLoopLagSeconds: 0.002,
    },
    connectionsRefused: 4,
    slowReaderDisconnects: 2,
    watchEvents: 120,
    watchResyncs: 3,
    handEdits: { applied: 5, rejected: 1, merged: 0 },
    flushDuration: { bucketsMs: [...LATENCY_BUCKETS_MS], count: 2, sumMs: 7.5, counts: LATENCY_BUCKETS_MS.map((bound) => (bound === 5 ? 2 : 0)).concat(0) },
    ...overrides,
  };
}

function valueOf(families: Map<string, MetricFamily>, name: string, sampleName = name, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  assert.ok(family !== undefined, `no family ${name}`);
  const sample = family.samples.find((s) => s.name === sampleName && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
  assert.ok(sample !== undefined, `no sample ${sampleName} ${JSON.stringify(labels)}`);
  return sample.value;
}

describe('Prometheus text format', () => {
  test('every line parses: HELP and TYPE once per family before its samples, names prefixed, histograms whole', () => {
    const families = parsePrometheusText(formatPrometheus(statsFixture()));
    checkHistograms(families);
    assert.ok(families.size >= 18);
    for (const family of families.values()) {
      // The sidecar's own metrics are prefixed; process metrics carry the names client libraries give them.
      assert.match(family.name, /^(config_sidecar|process|nodejs)_[a-z0-9_]+$/);
      assert.ok(family.help !== undefined && family.help.length > 0, `${family.name} has HELP`);
      assert.ok(family.type !== undefined, `${family.name} has TYPE`);
      if (family.type === 'counter') assert.match(family.name, /_total$/, 'counters end in _total');
    }
    assert.equal(families.get('config_sidecar_request_duration_seconds')?.type, 'histogram');
    assert.equal(families.get('config_sidecar_flushes_total')?.type, 'counter');
    assert.equal(families.get('config_sidecar_connections')?.type, 'gauge');
  });

  test('process metrics under the standard names; the event counters and the flush histogram carry the stats', () => {
    const families = parsePrometheusText(formatPrometheus(statsFixture()));
    const expected: [string, string, number][] = [
      ['process_cpu_user_seconds_total', 'counter', 1.25],
      ['process_cpu_system_seconds_total', 'counter', 0.5],
      ['process_cpu_seconds_total', 'counter', 1.75],
      ['process_start_time_seconds', 'gauge', 1_735_787_045],
      ['process_resident_memory_bytes', 'gauge', 52_428_800],
      ['nodejs_heap_size_used_bytes', 'gauge', 10_485_760],
      ['nodejs_heap_size_total_bytes', 'gauge', 20_971_520],
      ['nodejs_external_memory_bytes', 'gauge', 1_048_576],
      ['process_open_fds', 'gauge', 23],
      ['process_max_fds', 'gauge', 1024],
      ['nodejs_eventloop_lag_seconds', 'gauge', 0.002],
      ['config_sidecar_connections_refused_total', 'counter', 4],
      ['config_sidecar_slow_reader_disconnects_total', 'counter', 2],
      ['config_sidecar_watch_events_total', 'counter', 120],
      ['config_sidecar_watch_resyncs_total', 'counter', 3],
    ];
    for (const [name, type, value] of expected) {
      assert.equal(families.get(name)?.type, type, name);
      assert.equal(valueOf(families, name), value, name);
    }
    assert.equal(families.get('config_sidecar_hand_edits_total')?.type, 'counter');
    assert.equal(valueOf(families, 'config_sidecar_hand_edits_total', undefined, { outcome: 'applied' }), 5);
    assert.equal(valueOf(families, 'config_sidecar_hand_edits_total', undefined, { outcome: 'rejected' }), 1);
    assert.equal(valueOf(families, 'config_sidecar_hand_edits_total', undefined, { outcome: 'merged' }), 0);
    const flush = 'config_sidecar_flush_duration_seconds';
    assert.equal(families.get(flush)?.type, 'histogram');
    assert.equal(valueOf(families, flush, `${flush}_count`), 2);
    assert.equal(valueOf(families, flush, `${flush}_sum`), 0.0075);
    assert.equal(valueOf(families, flush, `${flush}_bucket`, { le: '0.0025' }), 0);
    assert.equal(valueOf(families, flush, `${flush}_bucket`, { le: '0.005' }), 2);
  });

  test('without /proc (not Linux) the descriptor gauges are left out, not reported as 0; an older sidecar without the new fields still prints', () => {
    const fixture = statsFixture();
    const noProc = parsePrometheusText(formatPrometheus({ ...fixture, process: { ...(fixture.process as object), openFds: null, maxFds: null } }));
    assert.equal(noProc.has('process_open_fds'), false);
    assert.equal(noProc.has('process_max_fds'), false);
    assert.equal(noProc.has('process_cpu_user_seconds_total'), true);
    const older = statsFixture();
    for (const key of ['process', 'connectionsRefused', 'slowReaderDisconnects', 'watchEvents', 'watchResyncs', 'handEdits', 'flushDuration']) delete older[key];
    const families = parsePrometheusText(formatPrometheus(older));
    assert.equal(families.has('config_sidecar_flush_duration_seconds'), false);
    assert.equal(valueOf(families, 'process_resident_memory_bytes'), 52_428_800);
  });

  test('histogram buckets are the fixed bounds in seconds, cumulative, with sum and count per op', () => {
    const families = parsePrometheusText(formatPrometheus(statsFixture()));
    const name = 'config_sidecar_request_duration_seconds';
    const buckets = families.get(name)!.samples.filter((s) => s.name === `${name}_bucket` && s.labels.op === 'get');
    assert.deepEqual(
      buckets.map((s) => s.labels.le),
      [...LATENCY_BUCKETS_MS.map((ms) => String(ms / 1000)), '+Inf'],
    );
    assert.equal(buckets[1]!.labels.le, '0.00025', 'no binary noise in bounds');
    // get: 0.05 and 0.1 ≤ 0.1 ms; 0.2 (the NOT_FOUND) ≤ 0.25; 0.3, 0.3 ≤ 0.5; 7 ≤ 10; 12 000 only in +Inf.
    const le = (bound: string) => buckets.find((s) => s.labels.le === bound)!.value;
    assert.equal(le('0.0001'), 2);
    assert.equal(le('0.00025'), 3);
    assert.equal(le('0.0005'), 5);
    assert.equal(le('0.005'), 5);
    assert.equal(le('0.01'), 6);
    assert.equal(le('10'), 6);
    assert.equal(le('+Inf'), 7);
    assert.equal(valueOf(families, name, `${name}_count`, { op: 'get' }), 7);
    assert.ok(Math.abs(valueOf(families, name, `${name}_sum`, { op: 'get' }) - (0.05 + 0.1 + 0.3 + 0.3 + 7 + 12_000 + 0.2) / 1000) < 1e-9);
    assert.equal(valueOf(families, name, `${name}_count`, { op: 'set' }), 4);
  });

  test('counters, gauges and health carry the stats values in base units', () => {
    const families = parsePrometheusText(formatPrometheus(statsFixture()));
    assert.equal(valueOf(families, 'config_sidecar_uptime_seconds'), 90.5);
    assert.equal(valueOf(families, 'config_sidecar_revision'), 42);
    assert.equal(valueOf(families, 'config_sidecar_connections'), 3);
    assert.equal(valueOf(families, 'config_sidecar_watches'), 2);
    assert.equal(valueOf(families, 'config_sidecar_flushes_total'), 17);
    assert.equal(valueOf(families, 'config_sidecar_flush_failures_total'), 1);
    assert.equal(valueOf(families, 'config_sidecar_writes_committed_total'), 30);
    assert.equal(valueOf(families, 'config_sidecar_request_errors_total', undefined, { op: 'get', code: 'NOT_FOUND' }), 1);
    assert.equal(valueOf(families, 'config_sidecar_request_errors_total', undefined, { op: 'set', code: 'CONFLICT' }), 1);
    assert.equal(valueOf(families, 'config_sidecar_event_loop_delay_p99_seconds'), 0.00425);
    assert.equal(valueOf(families, 'config_sidecar_event_loop_delay_max_seconds'), 0.031);
    assert.equal(valueOf(families, 'process_resident_memory_bytes'), 52_428_800);
    assert.deepEqual(
      families.get('config_sidecar_health_status')!.samples.map((s) => [s.labels.status, s.value]),
      [['ok', 0], ['degraded', 1], ['failing', 0]],
    );
    assert.equal(valueOf(families, 'config_sidecar_file_valid'), 1);
    assert.equal(valueOf(families, 'config_sidecar_memory_equals_disk'), 1);
    assert.equal(valueOf(families, 'config_sidecar_read_only'), 0);
    assert.equal(valueOf(families, 'config_sidecar_last_write_timestamp_seconds'), Date.parse('2025-01-02T03:04:05.500Z') / 1000);
    assert.equal(valueOf(families, 'config_sidecar_info', undefined, { version: '0.1.0', epoch: 'a1b2c3d4e5f60718' }), 1);
  });

  test('label values with quotes, backslashes and line feeds are escaped and read back intact', () => {
    const version = 'v1 "quoted" back\\slash\nnext line';
    const families = parsePrometheusText(formatPrometheus(statsFixture({ version })));
    assert.equal(families.get('config_sidecar_info')!.samples[0]!.labels.version, version);
  });

  test('a sidecar that never wrote has no last-write timestamp; an empty histogram is still valid', () => {
    const empty = new RequestMetrics();
    const stats = statsFixture({ latency: empty.latencySnapshot(), requestErrors: {} });
    (stats.health as Record<string, unknown>).lastWriteAt = null;
    const families = parsePrometheusText(formatPrometheus(stats));
    checkHistograms(families);
    assert.equal(families.has('config_sidecar_last_write_timestamp_seconds'), false);
    assert.deepEqual(families.get('config_sidecar_request_duration_seconds')!.samples, []);
  });

  test('stats of the wrong shape are refused, not rendered half', () => {
    const stats = statsFixture();
    const latency = stats.latency as { ops: Record<string, { counts: number[] }> };
    latency.ops.get!.counts.pop();
    assert.throws(() => formatPrometheus(stats), /one count per bucket/);
    assert.throws(() => formatPrometheus({ ...statsFixture(), connections: 'three' }));
  });
});

describe('the exposition reader used above rejects what a scraper rejects', () => {
  const bad: [string, string][] = [
    ['a sample before its TYPE', '# HELP config_sidecar_x x\nconfig_sidecar_x 1\n'],
    ['interleaved families', '# HELP a a\n# TYPE a gauge\na 1\n# HELP b b\n# TYPE b gauge\nb 1\na{x="1"} 2\n'],
    ['a second TYPE', '# HELP a a\n# TYPE a gauge\n# TYPE a gauge\na 1\n'],
    ['a bad escape', '# HELP a a\n# TYPE a gauge\na{x="\\t"} 1\n'],
    ['a duplicate series', '# HELP a a\n# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
    ['a value that is no float', '# HELP a a\n# TYPE a gauge\na 1,5\n'],
    ['no final line feed', '# HELP a a\n# TYPE a gauge\na 1'],
  ];
  for (const [what, text] of bad) test(what, () => assert.throws(() => parsePrometheusText(text)));

  test('a histogram that is not cumulative, or whose count differs from +Inf', () => {
    const head = '# HELP h h\n# TYPE h histogram\n';
    assert.throws(() => checkHistograms(parsePrometheusText(`${head}h_bucket{le="1"} 5\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 3\n`)));
    assert.throws(() => checkHistograms(parsePrometheusText(`${head}h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 4\n`)));
    assert.doesNotThrow(() => checkHistograms(parsePrometheusText(`${head}h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 3\n`)));
  });
});
