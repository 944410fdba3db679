// `config-sidecar stats --prometheus`: the sidecar's `stats` in the Prometheus
// text exposition format (version 0.0.4), for node_exporter's textfile
// collector or any scraper that runs a command. Base units as Prometheus
// expects them: seconds and bytes; every name starts with `config_sidecar_`.
import { z } from 'zod';

const PREFIX = 'config_sidecar_';
const HEALTH_STATUSES = ['ok', 'degraded', 'failing'] as const;

const OpLatencySchema = z.object({ count: z.number().int().nonnegative(), sumMs: z.number().nonnegative(), counts: z.array(z.number().int().nonnegative()) });

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
    memory: z.object({ rssBytes: z.number().nonnegative() }),
    health: z.object({
      status: z.enum(HEALTH_STATUSES),
      fileValid: z.boolean(),
      memoryEqualsDisk: z.boolean(),
      readOnly: z.boolean(),
      lastWriteAt: z.string().nullable(),
    }),
  })
  .refine((stats) => Object.values(stats.latency.ops).every((op) => op.counts.length === stats.latency.bucketsMs.length + 1), {
    message: 'every latency histogram has one count per bucket plus the overflow bucket',
  });

export type PrometheusStats = z.infer<typeof PrometheusStatsSchema>;

type Labels = Record<string, string>;

/** One metric family: its HELP and TYPE lines, then its samples. */
interface Family {
  name: string;
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
    gauge('resident_memory_bytes', 'Resident set size of the sidecar process.', stats.memory.rssBytes),
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
  return families.map(renderFamily).join('');
}

function latencyHistogram(latency: PrometheusStats['latency']): Family {
  const samples: Family['samples'] = [];
  for (const [op, histogram] of Object.entries(latency.ops)) {
    // The sidecar reports per-bucket counts; Prometheus buckets are cumulative.
    let cumulative = 0;
    latency.bucketsMs.forEach((boundMs, i) => {
      cumulative += histogram.counts[i]!;
      samples.push({ suffix: '_bucket', labels: { op, le: formatValue(msToSeconds(boundMs)) }, value: cumulative });
    });
    samples.push({ suffix: '_bucket', labels: { op, le: '+Inf' }, value: histogram.count });
    samples.push({ suffix: '_sum', labels: { op }, value: msToSeconds(histogram.sumMs) });
    samples.push({ suffix: '_count', labels: { op }, value: histogram.count });
  }
  return {
    name: 'request_duration_seconds',
    help: 'Time from receiving a request to answering it, by op; writes until they are durable.',
    type: 'histogram',
    samples,
  };
}

/** ms → s without binary noise in the last digits (0.25 ms must read 0.00025, not 0.00025000000000000006). */
function msToSeconds(ms: number): number {
  return Number((ms / 1000).toPrecision(15));
}

function renderFamily(family: Family): string {
  const name = PREFIX + family.name;
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
