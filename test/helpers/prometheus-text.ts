// A strict reader of the Prometheus text exposition format (0.0.4), so tests
// can parse `stats --prometheus` back line by line and check it the way a
// scraper would: HELP/TYPE before samples, families contiguous, no duplicate
// series, valid names, escaped label values, histograms cumulative and whole.
import assert from 'node:assert/strict';

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, ... for histograms). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string | undefined;
  type: string | undefined;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** Parses exposition text; throws (an assertion error naming the line) on anything a scraper would reject. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  const families = new Map<string, MetricFamily>();
  const seriesSeen = new Set<string>();
  let current: MetricFamily | undefined;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, index) => {
    const where = `line ${index + 1}: ${JSON.stringify(line)}`;
    if (line.startsWith('#')) {
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta === null) return; // a plain comment
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      assert.match(name, NAME, where);
      const family = familyFor(families, name);
      assert.ok(family.samples.length === 0, `${where}: ${kind} after samples of ${name}`);
      if (kind === 'HELP') {
        assert.equal(family.help, undefined, `${where}: second HELP for ${name}`);
        family.help = unescapeHelp(rest, where);
      } else {
        assert.equal(family.type, undefined, `${where}: second TYPE for ${name}`);
        assert.ok(TYPES.has(rest), `${where}: unknown type ${rest}`);
        family.type = rest;
      }
      current = family;
      return;
    }
    assert.notEqual(line.trim(), '', `${where}: blank line`);
    const sample = parseSample(line, where);
    const family = current !== undefined && belongsTo(sample.name, current) ? current : undefined;
    assert.ok(family !== undefined, `${where}: sample outside its family's block (HELP/TYPE first, families contiguous)`);
    assert.ok(family.help !== undefined && family.type !== undefined, `${where}: ${family.name} needs HELP and TYPE before its samples`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    assert.ok(!seriesSeen.has(key), `${where}: duplicate series`);
    seriesSeen.add(key);
    family.samples.push(sample);
  });
  return families;
}

function familyFor(families: Map<string, MetricFamily>, name: string): MetricFamily {
  let family = families.get(name);
  if (family === undefined) {
    family = { name, help: undefined, type: undefined, samples: [] };
    families.set(name, family);
  }
  return family;
}

function belongsTo(sampleName: string, family: MetricFamily): boolean {
  if (sampleName === family.name) return family.type !== 'histogram';
  return family.type === 'histogram' && HISTOGRAM_SUFFIXES.some((suffix) => sampleName === family.name + suffix);
}

function parseSample(line: string, where: string): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  assert.ok(nameMatch !== null, `${where}: no metric name`);
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    let i = 1;
    while (rest[i] !== '}') {
      const labelName = /^[^=]*/.exec(rest.slice(i))![0];
      assert.match(labelName, LABEL_NAME, `${where}: label name ${JSON.stringify(labelName)}`);
      i += labelName.length;
      assert.equal(rest.slice(i, i + 2), '="', `${where}: label ${labelName} needs ="..."`);
      i += 2;
      let value = '';
      for (;;) {
        const c = rest[i];
        assert.ok(c !== undefined && c !== '\n', `${where}: unterminated label value`);
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const escaped = rest[i++];
          assert.ok(escaped === '\\' || escaped === '"' || escaped === 'n', `${where}: bad escape \\${escaped}`);
          value += escaped === 'n' ? '\n' : escaped;
        } else {
          value += c;
        }
      }
      assert.ok(!(labelName in labels), `${where}: label ${labelName} twice`);
      labels[labelName] = value;
      if (rest[i] === ',') i++;
      else assert.equal(rest[i], '}', `${where}: expected , or } after a label`);
    }
    rest = rest.slice(i + 1);
  }
  const valueMatch = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  assert.ok(valueMatch !== null, `${where}: expected " value [timestamp]"`);
  assert.match(valueMatch[1]!, FLOAT, `${where}: value is not a float`);
  const raw = valueMatch[1]!;
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
  return { name, labels, value };
}

function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    assert.ok(c === '\\' || c === 'n', `${where}: bad escape in HELP`);
    return c === 'n' ? '\n' : '\\';
  });
}

/**
 * Checks every histogram: per label set, `le` bounds strictly increasing and
 * ending at +Inf, bucket counts non-decreasing, +Inf bucket = _count, _sum present.
 */
export function checkHistograms(families: Map<string, MetricFamily>): void {
  for (const family of families.values()) {
    if (family.type !== 'histogram') continue;
    const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
    for (const sample of family.samples) {
      const { le, ...rest } = sample.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const entry = series.get(key) ?? { buckets: [] };
      series.set(key, entry);
      if (sample.name.endsWith('_bucket')) {
        assert.ok(le !== undefined, `${family.name}_bucket without le`);
        assert.match(le, FLOAT, `${family.name}: le="${le}" is not a float`);
        entry.buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value]);
      } else {
        assert.equal(le, undefined, `${sample.name} must not carry le`);
        if (sample.name.endsWith('_sum')) entry.sum = sample.value;
        else entry.count = sample.value;
      }
    }
    for (const [key, entry] of series) {
      const where = `${family.name}${key}`;
      assert.ok(entry.buckets.length > 0, `${where}: no buckets`);
      for (let i = 1; i < entry.buckets.length; i++) {
        assert.ok(entry.buckets[i]![0] > entry.buckets[i - 1]![0], `${where}: le not increasing`);
        assert.ok(entry.buckets[i]![1] >= entry.buckets[i - 1]![1], `${where}: buckets not cumulative`);
      }
      assert.equal(entry.buckets.at(-1)![0], Infinity, `${where}: last bucket is not +Inf`);
      assert.notEqual(entry.sum, undefined, `${where}: no _sum`);
      assert.equal(entry.count, entry.buckets.at(-1)![1], `${where}: _count differs from the +Inf bucket`);
    }
  }
}
