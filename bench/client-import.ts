// What importing the client library costs a process: `node -e 0` against a
// process that imports `config-sidecar` (the package's main entry, through
// its own name), wall time and peak RSS, medians of N alternating runs in the
// same session. Usage: node dist/bench/client-import.js [--runs N]
// Writes bench/results/client-import.{json,md}.
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);

// Each child reports its own peak RSS at exit; the same reporting code runs in both, so it cancels out.
const report = "process.on('exit', () => process.stdout.write(String(process.resourceUsage().maxRSS)))";
const cases = {
  bare: `${report}`,
  import: `${report}; await import('config-sidecar')`,
  importWithZod: `${report}; await import('config-sidecar'); await import('zod')`,
};

interface Sample {
  wallMs: number;
  rssKiB: number;
}

function once(code: string): Sample {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`child failed: ${child.stderr}`);
  return { wallMs, rssKiB: Number(child.stdout) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const samples: Record<keyof typeof cases, Sample[]> = { bare: [], import: [], importWithZod: [] };
for (let i = 0; i < runs; i++) for (const [name, code] of Object.entries(cases)) samples[name as keyof typeof cases].push(once(code));

const summary = Object.fromEntries(
  Object.entries(samples).map(([name, list]) => [name, { wallMs: median(list.map((s) => s.wallMs)), peakRssMiB: median(list.map((s) => s.rssKiB)) / 1024 }]),
) as Record<keyof typeof cases, { wallMs: number; peakRssMiB: number }>;
const over = (name: keyof typeof cases) => ({
  wallMs: summary[name].wallMs - summary.bare.wallMs,
  peakRssMiB: summary[name].peakRssMiB - summary.bare.peakRssMiB,
});
const result = { runs, node: process.version, date: new Date().toISOString(), summary, aboveBare: { import: over('import'), importWithZod: over('importWithZod') }, goal: { wallMs: 20, peakRssMiB: 8 } };

const fmt = (n: number) => n.toFixed(1);
const md = [
  '# Client library import cost',
  '',
  `\`node dist/bench/client-import.js --runs ${runs}\`, ${result.date}, Node ${process.version}; medians of ${runs} alternating runs.`,
  '',
  '| process | wall ms | peak RSS MiB | above bare: ms | above bare: MiB |',
  '|---|---|---|---|---|',
  `| \`node -e 0\` (bare) | ${fmt(summary.bare.wallMs)} | ${fmt(summary.bare.peakRssMiB)} | | |`,
  `| \`import('config-sidecar')\` | ${fmt(summary.import.wallMs)} | ${fmt(summary.import.peakRssMiB)} | ${fmt(result.aboveBare.import.wallMs)} | ${fmt(result.aboveBare.import.peakRssMiB)} |`,
  `| the same plus \`zod\` (a client given a schema) | ${fmt(summary.importWithZod.wallMs)} | ${fmt(summary.importWithZod.peakRssMiB)} | ${fmt(result.aboveBare.importWithZod.wallMs)} | ${fmt(result.aboveBare.importWithZod.peakRssMiB)} |`,
  '',
  'Goal: the import costs at most 20 ms and 8 MiB above bare Node.',
  '',
].join('\n');
await writeFile(path.join(root, 'bench/results/client-import.json'), JSON.stringify(result, null, 2) + '\n');
await writeFile(path.join(root, 'bench/results/client-import.md'), md);
process.stdout.write(md);
