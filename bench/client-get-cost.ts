// What checking answers costs a get: the same serial get loop through this
// build's client library and through a baseline build of it (another
// checkout's dist/client/index.js, e.g. before a change), against one sidecar,
// alternating processes in the same session. Usage:
//   node dist/bench/client-get-cost.js --baseline /path/to/other/dist/client/index.js [--gets 3000] [--rounds 6]
// Writes bench/results/client-get-cost.{json,md}.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startSidecar } from './bench-processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({ options: { baseline: { type: 'string' }, gets: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '6' } } });
if (values.baseline === undefined) throw new Error('--baseline <dist/client/index.js of the build to compare with> is required');
const gets = Number(values.gets);
const rounds = Number(values.rounds);
const builds = { baseline: pathToFileURL(path.resolve(values.baseline)).href, current: pathToFileURL(path.join(root, 'dist/client/index.js')).href };

// One process: connect, warm up, then `gets` serial gets of one section; prints the p50 and p99 in microseconds.
const workerCode = (library: string, socketPath: string) => `
const { connect } = await import(${JSON.stringify(library)});
const client = connect({ socketPath: ${JSON.stringify(socketPath)} });
for (let i = 0; i < 500; i++) await client.get('server');
const samples = new Float64Array(${gets});
for (let i = 0; i < ${gets}; i++) { const t = performance.now(); await client.get('server'); samples[i] = performance.now() - t; }
samples.sort();
process.stdout.write(JSON.stringify({ p50: samples[${Math.floor(gets / 2)}] * 1000, p99: samples[${Math.floor(gets * 0.99)}] * 1000 }));
client.close();
`;

function runWorker(code: string): Promise<{ p50: number; p99: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      if (status === 0) resolve(JSON.parse(out) as { p50: number; p99: number });
      else reject(new Error(`worker exited ${status}`));
    });
  });
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'csgc-'));
const configPath = path.join(dir, 'config.json');
const socketPath = path.join(dir, 's.sock');
// A small section: the per-call cost (framing, decoding, checking) is what differs between builds.
await writeFile(configPath, JSON.stringify({ server: { port: 8080, host: 'example.org', tls: { enabled: true, ciphers: ['a', 'b'] }, tags: ['x', 'y', 'z'] } }));
const sidecar = await startSidecar(configPath, socketPath);
const results: Record<keyof typeof builds, { p50: number; p99: number }[]> = { baseline: [], current: [] };
try {
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? (['baseline', 'current'] as const) : (['current', 'baseline'] as const)) {
      results[name].push(await runWorker(workerCode(builds[name], socketPath)));
    }
  }
} finally {
  await sidecar.stop();
  await rm(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = Object.fromEntries(Object.entries(results).map(([name, list]) => [name, { p50Us: median(list.map((r) => r.p50)), p99Us: median(list.map((r) => r.p99)) }])) as Record<
  keyof typeof builds,
  { p50Us: number; p99Us: number }
>;
const ratio = summary.current.p50Us / summary.baseline.p50Us;
const report = { date: new Date().toISOString(), node: process.version, gets, rounds, baseline: values.baseline, summary, p50Ratio: ratio, loadAverage: os.loadavg() };
const md = [
  '# get latency: answer checking, this build against a baseline build',
  '',
  `\`node dist/bench/client-get-cost.js --baseline ${values.baseline} --gets ${gets} --rounds ${rounds}\`, ${report.date}, Node ${process.version}, load average ${os.loadavg().map((n) => n.toFixed(2)).join(' ')}.`,
  `Serial gets of a small section (\`server\`), one process per round and build, alternating; medians over rounds.`,
  '',
  '| build | get p50 µs | get p99 µs |',
  '|---|---|---|',
  `| baseline | ${summary.baseline.p50Us.toFixed(1)} | ${summary.baseline.p99Us.toFixed(1)} |`,
  `| this build | ${summary.current.p50Us.toFixed(1)} | ${summary.current.p99Us.toFixed(1)} |`,
  '',
  `p50 ratio this / baseline: ${ratio.toFixed(3)} (goal ≤ 1.05).`,
  '',
].join('\n');
await writeFile(path.join(root, 'bench/results/client-get-cost.json'), JSON.stringify(report, null, 2) + '\n');
await writeFile(path.join(root, 'bench/results/client-get-cost.md'), md);
process.stdout.write(md);
