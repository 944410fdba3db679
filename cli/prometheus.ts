// `config-sidecar stats --prometheus`: the sidecar's `stats` in the Prometheus
// text exposition format (version 0.0.4), for node_exporter's textfile
// collector or any scraper that runs a command. Base units as Prometheus
// expects them: seconds and bytes. The sidecar's own metrics start with
// `config_sidecar_`; the process metrics carry the names Prometheus' client
// libraries give them (prom-client's defaults), so existing dashboards work.
import { z } from 'zod';

const PREFIX = 'config_sidecar_';
const HEALTH_STATUSES = ['ok', 'degraded', 'failing'] as const;

const OpLatencySchema = z.object({ count: z.number().int().nonnegative(), sumMs: z.number().nonnegative(), counts: z.array(z.number().int().nonnegative()) });
const count = z.number().int().nonnegative();
const seconds = z.number().nonnegative();

/** The part of a `stats` result the exposition is built from; unknown fields are ignored. */
export const PrometheusStatsSchema = z
  .object({
    epoch: z.string(),
    revision: z.number().int(),
    version: z.string(),
    uptimeMs: z.number().nonnegative(),
    connections: z.number().int().nonnegative(),
    watches: z.number().int().nonnegative(),
    requestErrors: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())),
    latency: z.object({ bucketsMs: z.array(z.number().positive()), ops: z.record(z.string(), OpLatencySchema) }),
    flushes: z.number().int().nonnegative(),
    writesCommitted: z.number().int().nonnegative(),
    failedFlushes: z.number().int().nonnegative(),
    eventLoopDelay: z.object({ p50Ms: z.number(), p99Ms: z.number(), maxMs: z.number() }),
    memory: z.object({ rssBytes: z.number().nonnegative(), heapUsedBytes: z.number().nonnegative() }),
    // Optional from here on: a sidecar started before they were added still gets its other metrics printed.
    process: z
      .object({
        cpuUserSeconds: seconds,
        cpuSystemSeconds: seconds,
        startTimeSeconds: seconds,
        heapTotalBytes: count,
        externalBytes: count,
        openFds: count.nullable(),
        maxFds: count.nullable(),
        eventLoopLagSeconds: seconds,
      })
      .optional(),
    connectionsRefused: count.optional(),
    slowReaderDisconnects: count.optional(),
    watchEvents: count.optional(),
    watchResyncs: count.optional(),
    handEdits: z.object({ applied: count, rejected: count, merged: count }).optional(),
    flushDuration: OpLatencySchema.extend({ bucketsMs: z.array(z.number().positive()) }).optional(),
    health: z.object({
      status: z.enum(HEALTH_STATUSES),
      fileValid: z.boolean(),
      memoryEqualsDisk: z.boolean(),
      readOnly: z.boolean(),
      lastWriteAt: z.string().nullable(),
    }),
  })
  .refine(
    (stats) =>
      Object.values(stats.latency.ops).every((op) => op.counts.length === stats.latency.bucketsMs.length + 1) &&
      (stats.flushDuration === undefined || stats.flushDuration.counts.length === stats.flushDuration.bucketsMs.length + 1),
    { message: 'every latency histogram has one count per bucket plus the overflow bucket' },
  );

export type PrometheusStats = z.infer<typeof PrometheusStatsSchema>;

type Labels = Record<string, string>;

/** One metric family: its HELP and TYPE lines, then its samples. */
interface Family {
  /** Prefixed with `config_sidecar_` unless `standard` (a name every Prometheus client library uses). */
  name: string;
  standard?: true;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** `suffix` is appended to the family name (`_bucket`, `_sum`, `_count` for histograms). */
  samples: { suffix?: string; labels?: Labels; value: number }[];
}

/** `stats` from a sidecar whose shape this formatter does not know (another version). */
export class StatsShapeError extends Error {
  override readonly name = 'StatsShapeError';
}

/** Renders a `stats` result (validated here: it came off the wire) as Prometheus text, ending with a newline. */
export function formatPrometheus(raw: unknown): string {
  const parsed = PrometheusStatsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new StatsShapeError(`unexpected stats from the sidecar: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
  }
  const stats = parsed.data;
  const gauge = (name: string, help: string, value: number, labels?: Labels): Family => ({ name, help, type: 'gauge', samples: [{ value, labels }] });
  const counter = (name: string, help: string, value: number): Family => ({ name, help, type: 'counter', samples: [{ value }] });
  const standard = (family: Family): Family => ({ ...family, standard: true });
  const flag = (value: boolean) => (value ? 1 : 0);
  const families: Family[] = [
    gauge('info', 'The sidecar version and the epoch of its revision numbering; always 1.', 1, { version: stats.version, epoch: stats.epoch }),
    gauge('uptime_seconds', 'Time since the sidecar started.', msToSeconds(stats.uptimeMs)),
    gauge('revision', 'The committed revision (restarts with a new epoch).', stats.revision),
    gauge('connections', 'Client connections open now.', stats.connections),
    gauge('watches', 'Watches open now, over all connections.', stats.watches),
    latencyHistogram(stats.latency),
    {
      name: 'request_errors_total',
      help: 'Requests answered with an error, by op and error code.',
      type: 'counter',
      samples: Object.entries(stats.requestErrors).flatMap(([op, byCode]) => Object.entries(byCode).map(([code, value]) => ({ labels: { op, code }, value }))),
    },
    counter('flushes_total', 'Durable writes of the config file (one flush acknowledges every write grouped into it).', stats.flushes),
    counter('flush_failures_total', 'Flushes that failed; their writes were answered WRITE_FAILED.', stats.failedFlushes),
    counter('writes_committed_total', 'Write requests made durable and acknowledged.', stats.writesCommitted),
    gauge('event_loop_delay_p50_seconds', 'Median event-loop delay beyond the sampling interval.', msToSeconds(stats.eventLoopDelay.p50Ms)),
    gauge('event_loop_delay_p99_seconds', '99th percentile event-loop delay beyond the sampling interval.', msToSeconds(stats.eventLoopDelay.p99Ms)),
    gauge('event_loop_delay_max_seconds', 'Largest event-loop delay seen.', msToSeconds(stats.eventLoopDelay.maxMs)),
    {
      name: 'health_status',
      help: 'Health as `config-sidecar health` reports it: 1 for the current status, 0 for the others.',
      type: 'gauge',
      samples: HEALTH_STATUSES.map((status) => ({ labels: { status }, value: flag(stats.health.status === status) })),
    },
    gauge('file_valid', 'Whether the file on disk is valid (0 after an invalid hand edit).', flag(stats.health.fileValid)),
    gauge('memory_equals_disk', 'Whether the served config equals the file on disk.', flag(stats.health.memoryEqualsDisk)),
    gauge('read_only', 'Whether the config is served read-only.', flag(stats.health.readOnly)),
  ];
  if (stats.health.lastWriteAt !== null) {
    families.push(gauge('last_write_timestamp_seconds', 'When the last successful write became durable (Unix time).', msToSeconds(Date.parse(stats.health.lastWriteAt))));
  }
  const optional = (value: number | undefined, family: (value: number) => Family) => {
    if (value !== undefined) families.push(family(value));
  };
  optional(stats.connectionsRefused, (n) => counter('connections_refused_total', 'Connections refused before hello because maxConnections were open.', n));
  optional(stats.slowReaderDisconnects, (n) => counter('slow_reader_disconnects_total', 'Connections closed because their reader fell too far behind (maxOutboundBytes, maxTotalOutboundBytes).', n));
  optional(stats.watchEvents, (n) => counter('watch_events_total', 'Watch events handed to watches (one per watch per revision touching its path).', n));
  optional(stats.watchResyncs, (n) => counter('watch_resyncs_total', 'Watches that asked to resume and got a fresh snapshot instead (history compacted, or another epoch).', n));
  const handEdits = stats.handEdits;
  if (handEdits !== undefined) {
    families.push({
      name: 'hand_edits_total',
      help: 'Changes of the file on disk by outcome: applied as a revision, rejected (invalid or refused by the schema), merged with writes made meanwhile.',
      type: 'counter',
      samples: (['applied', 'rejected', 'merged'] as const).map((outcome) => ({ labels: { outcome }, value: handEdits[outcome] })),
    });
  }
  if (stats.flushDuration !== undefined) families.push(flushHistogram(stats.flushDuration));
  families.push(...processFamilies(stats, standard));
  return families.map(renderFamily).join('');
}

/** The process metrics under the names prom-client's default metrics use. */
function processFamilies(stats: PrometheusStats, standard: (family: Family) => Family): Family[] {
  const one = (name: string, type: 'counter' | 'gauge', help: string, value: number): Family => standard({ name, help, type, samples: [{ value }] });
  const families = [
    one('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', stats.memory.rssBytes),
    one('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes.', stats.memory.heapUsedBytes),
  ];
  const proc = stats.process;
  if (proc === undefined) return families;
  families.push(
    one('process_cpu_user_seconds_total', 'counter', 'Total user CPU time spent in seconds.', proc.cpuUserSeconds),
    one('process_cpu_system_seconds_total', 'counter', 'Total system CPU time spent in seconds.', proc.cpuSystemSeconds),
    one('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.', Number((proc.cpuUserSeconds + proc.cpuSystemSeconds).toPrecision(15))),
    one('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', proc.startTimeSeconds),
    one('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes.', proc.heapTotalBytes),
    one('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.', proc.externalBytes),
    one('nodejs_eventloop_lag_seconds', 'gauge', 'Lag of event loop in seconds.', proc.eventLoopLagSeconds),
  );
  // Only where the system tells (Linux /proc): absent rather than a made-up zero elsewhere.
  if (proc.openFds !== null) families.push(one('process_open_fds', 'gauge', 'Number of open file descriptors.', proc.openFds));
  if (proc.maxFds !== null) families.push(one('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', proc.maxFds));
  return families;
}

function flushHistogram(flush: NonNullable<PrometheusStats['flushDuration']>): Family {
  return {
    name: 'flush_duration_seconds',
    help: 'Time one durable write of the config file takes (temp file, fsync, rename, directory fsync), failed ones included.',
    type: 'histogram',
    samples: histogramSamples(flush.bucketsMs, flush, {}),
  };
}

function latencyHistogram(latency: PrometheusStats['latency']): Family {
  const samples: Family['samples'] = [];
  for (const [op, histogram] of Object.entries(latency.ops)) samples.push(...histogramSamples(latency.bucketsMs, histogram, { op }));
  return {
    name: 'request_duration_seconds',
    help: 'Time from receiving a request to answering it, by op; writes until they are durable.',
    type: 'histogram',
    samples,
  };
}

/** One histogram's `_bucket`, `_sum` and `_count` samples, with `labels` on each. */
function histogramSamples(bucketsMs: readonly number[], histogram: z.infer<typeof OpLatencySchema>, labels: Labels): Family['samples'] {
  const samples: Family['samples'] = [];
  // The sidecar reports per-bucket counts; Prometheus buckets are cumulative.
  let cumulative = 0;
  bucketsMs.forEach((boundMs, i) => {
    cumulative += histogram.counts[i]!;
    samples.push({ suffix: '_bucket', labels: { ...labels, le: formatValue(msToSeconds(boundMs)) }, value: cumulative });
  });
  samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: histogram.count });
  samples.push({ suffix: '_sum', labels, value: msToSeconds(histogram.sumMs) });
  samples.push({ suffix: '_count', labels, value: histogram.count });
  return samples;
}

/** ms → s without binary noise in the last digits (0.25 ms must read 0.00025, not 0.00025000000000000006). */
function msToSeconds(ms: number): number {
  return Number((ms / 1000).toPrecision(15));
}

function renderFamily(family: Family): string {
  const name = family.standard === true ? family.name : PREFIX + family.name;
  let text = `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`;
  for (const sample of family.samples) {
    const labels = Object.entries(sample.labels ?? {});
    const labelText = labels.length === 0 ? '' : `{${labels.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(',')}}`;
    text += `${name}${sample.suffix ?? ''}${labelText} ${formatValue(sample.value)}\n`;
  }
  return text;
}

/** A sample value as the format spells it: Go float syntax, with +Inf, -Inf and NaN. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** In label values backslash, double quote and line feed are escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** In HELP text backslash and line feed are escaped. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
