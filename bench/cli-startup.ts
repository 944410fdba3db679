// What one CLI call costs a shell script: `config-sidecar get a` against a
// running sidecar, the CLI without the client library (`--version`), and a
// bare import of the client library by its package name, each against
// `node -e 0` measured in the same run, interleaved round by round. Two floors
// run beside them: minimal-get.ts (node:net, the client's codec and one get in
// one file, no library: what any Node client of the socket pays) and the
// import of node:net and that codec alone. And the import's cost in an application that
// already loads 60 small modules of its own, against that application alone.
// Wall time is taken around the process from
// spawn to exit; peak memory is the kernel's maxrss of the process, which a
// one-line preload (given to every process measured, the baseline too) prints
// as the process exits.
//   node dist/bench/cli-startup.js [--runs N]
// Prints a markdown table and writes bench/results/cli-startup.{json,md}.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CLI, benchScript, cleanup, makeTempDir, startSidecar } from './bench-processes.js';

/** The client's msgpack codec, as a file URL (its import is the codec's share of a floor). */
const CODEC = new URL('../protocol/plain-msgpack.js', import.meta.url).href;

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));
/** The package's root: `import('config-sidecar')` resolves there by the package's own name. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Goals: CLI get wall ≤ 2× and peak ≤ 1.3× bare Node; library import ≤ 20 ms and ≤ 8 MiB above it. */
const GOALS = { cliWallRatio: 2, cliPeakRatio: 1.3, importWallMs: 20, importPeakMiB: 8 };

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);
if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);

interface Sample {
  wallMs: number;
  peakBytes: number;
}

/** Runs `node <args>` with the maxrss preload; resolves with wall time and peak RSS, rejects on a non-zero exit. */
function measure(preload: string, args: readonly string[], env: Record<string, string> = {}): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--require', preload, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    let report = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (chunk: string) => (report += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`));
      // resourceUsage().maxRSS is in KiB.
      const kib = Number(report.trim());
      if (!Number.isFinite(kib) || kib <= 0) return reject(new Error(`no maxrss from node ${args.join(' ')}: ${JSON.stringify(report)}`));
      resolve({ wallMs, peakBytes: kib * 1024 });
    });
  });
}

/** Module count of the stand-in application: a chain of small ES modules, each importing the next. */
const APP_MODULES = 60;

/** Writes the stand-in application into `dir`; returns the path of its first module. */
async function writeApplication(dir: string, count: number): Promise<string> {
  await mkdir(dir);
  for (let i = 1; i <= count; i++) {
    const next = i < count ? `import { value${i + 1} } from './module${i + 1}.mjs';\nexport const value${i} = value${i + 1} + 1;\n` : `export const value${i} = 1;\n`;
    await writeFile(path.join(dir, `module${i}.mjs`), next);
  }
  return path.join(dir, 'module1.mjs');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const MiB = 1024 * 1024;

try {
  const dir = await makeTempDir();
  const preload = path.join(dir, 'maxrss.cjs');
  await writeFile(preload, "process.on('exit', () => require('node:fs').writeSync(3, String(process.resourceUsage().maxRSS)));\n");
  const socketPath = path.join(dir, 's.sock');
  const app = await writeApplication(path.join(dir, 'app'), APP_MODULES);
  const sidecar = await startSidecar(path.join(dir, 'config.json'), socketPath);
  const get = [CLI, 'get', 'a', '--socket', socketPath];
  const cases: Record<string, { args: readonly string[]; env?: Record<string, string> }> = {
    'node -e 0': { args: ['-e', '0'] },
    'config-sidecar get a': { args: get },
    'config-sidecar get a, no compile cache': { args: get, env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
    // The CLI's own start-up, without the client library: what the library's import adds is the rest.
    'config-sidecar --version': { args: [CLI, '--version'] },
    "import('config-sidecar')": { args: ['--input-type=module', '-e', "await import('config-sidecar')"] },
    // Floors: the same get without the library, and what loading the socket and the codec alone costs.
    'floor: minimal-get.js a': { args: [benchScript('minimal-get.js'), socketPath, 'a'] },
    "floor: import('node:net'), the client's codec": { args: ['--input-type=module', '-e', `await import('node:net'); await import(${JSON.stringify(CODEC)})`] },
    // Why the import's memory is what it is: the same import with V8's optimising compiler off.
    "import('config-sidecar'), node --no-opt": { args: ['--no-opt', '--input-type=module', '-e', "await import('config-sidecar')"] },
    [`an application of ${APP_MODULES} modules`]: { args: ['--input-type=module', '-e', `await import(${JSON.stringify(app)})`] },
    [`the same, then import('config-sidecar')`]: { args: ['--input-type=module', '-e', `await import(${JSON.stringify(app)}); await import('config-sidecar')`] },
  };
  type Case = keyof typeof cases;
  await measure(preload, [CLI, 'set', 'a', '1', '--socket', socketPath]);
  // Two unmeasured rounds: the page cache and Node's compile cache are warm, as for any later call.
  for (let i = 0; i < 2; i++) for (const { args, env } of Object.values(cases)) await measure(preload, args, env);
  const samples = new Map<Case, Sample[]>(Object.keys(cases).map((name) => [name, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, { args, env }] of Object.entries(cases)) samples.get(name)!.push(await measure(preload, args, env));
  }
  await sidecar.stop();

  const figures = Object.fromEntries(
    [...samples].map(([name, list]) => [name, { wallMs: median(list.map((s) => s.wallMs)), peakMiB: median(list.map((s) => s.peakBytes)) / MiB }]),
  ) as Record<Case, { wallMs: number; peakMiB: number }>;
  const bare = figures['node -e 0']!;
  const cli = figures['config-sidecar get a']!;
  const library = figures["import('config-sidecar')"]!;
  const floor = figures['floor: minimal-get.js a']!;
  const codecFloor = figures["floor: import('node:net'), the client's codec"]!;
  const noOpt = figures["import('config-sidecar'), node --no-opt"]!;
  const appAlone = figures[`an application of ${APP_MODULES} modules`]!;
  const appWithLibrary = figures[`the same, then import('config-sidecar')`]!;
  const outcome = {
    cliWallRatio: cli.wallMs / bare.wallMs,
    cliPeakRatio: cli.peakMiB / bare.peakMiB,
    importWallMsAbove: library.wallMs - bare.wallMs,
    importPeakMiBAbove: library.peakMiB - bare.peakMiB,
    floorWallRatio: floor.wallMs / bare.wallMs,
    floorPeakRatio: floor.peakMiB / bare.peakMiB,
    codecFloorWallMsAbove: codecFloor.wallMs - bare.wallMs,
    codecFloorPeakMiBAbove: codecFloor.peakMiB - bare.peakMiB,
    importNoOptPeakMiBAbove: noOpt.peakMiB - bare.peakMiB,
    importInAppWallMsAbove: appWithLibrary.wallMs - appAlone.wallMs,
    importInAppPeakMiBAbove: appWithLibrary.peakMiB - appAlone.peakMiB,
  };
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const row = (name: string, f: { wallMs: number; peakMiB: number }) => `| ${name} | ${f.wallMs.toFixed(1)} | ${f.peakMiB.toFixed(1)} |`;
  const text = [
    '# CLI start-up',
    '',
    `\`node dist/bench/cli-startup.js --runs ${runs}\`, ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
    `Medians of ${runs} runs, interleaved; compile cache warm.`,
    '',
    '| process | wall ms | peak RSS MiB |',
    '|---|---|---|',
    ...Object.entries(figures).map(([name, f]) => row(name, f)),
    '',
    `- CLI get: wall ${outcome.cliWallRatio.toFixed(2)}× node -e 0 (goal ≤ ${GOALS.cliWallRatio}×: ${mark(outcome.cliWallRatio <= GOALS.cliWallRatio)}), ` +
      `peak ${outcome.cliPeakRatio.toFixed(2)}× (goal ≤ ${GOALS.cliPeakRatio}×: ${mark(outcome.cliPeakRatio <= GOALS.cliPeakRatio)})`,
    `- library import: +${outcome.importWallMsAbove.toFixed(1)} ms (goal ≤ ${GOALS.importWallMs}: ${mark(outcome.importWallMsAbove <= GOALS.importWallMs)}), ` +
      `+${outcome.importPeakMiBAbove.toFixed(1)} MiB (goal ≤ ${GOALS.importPeakMiB}: ${mark(outcome.importPeakMiBAbove <= GOALS.importPeakMiB)}) above node -e 0`,
    `- floor, a get without the library (minimal-get.js): wall ${outcome.floorWallRatio.toFixed(2)}×, peak ${outcome.floorPeakRatio.toFixed(2)}× node -e 0; ` +
      `node:net and the client's codec alone: +${outcome.codecFloorWallMsAbove.toFixed(1)} ms, +${outcome.codecFloorPeakMiBAbove.toFixed(1)} MiB`,
    `- the library import under node --no-opt: +${outcome.importNoOptPeakMiBAbove.toFixed(1)} MiB (the rest of its peak is V8's optimising compiler, started by the module loader's path functions)`,
    `- the library import in an application of ${APP_MODULES} modules: +${outcome.importInAppWallMsAbove.toFixed(1)} ms, +${outcome.importInAppPeakMiBAbove.toFixed(1)} MiB above the application alone`,
    '',
  ].join('\n');
  process.stdout.write(text);
  await writeFile(path.join(RESULTS, 'cli-startup.md'), text);
  await writeFile(
    path.join(RESULTS, 'cli-startup.json'),
    JSON.stringify({ runs, at: new Date().toISOString(), node: process.version, loadavg: os.loadavg(), goals: GOALS, figures, outcome, samples: Object.fromEntries(samples) }, null, 2) + '\n',
  );
} finally {
  await cleanup();
}
