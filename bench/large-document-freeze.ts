// Workload 3, the "KeyRx freeze": readers must not stall while a large
// document is being rewritten. For each size (1 MB, 10 MB):
//   build    a realistic nested config of 100 sections, sent as batches of
//            whole sections (each frame under the 1 MiB limit)
//   idle     4 reader processes, one get every --interval-ms each, no writer
//   rewrite  the same readers while a fifth process sets one key inside one
//            section in a loop, so the file is rewritten again and again (at
//            each commit, or in the background by a checkpoint writer)
// Goals for a 10 MB document: set p50, the sidecar's event-loop delay p99, and
// the readers' get p99 against the same readers idle.
// Once, first: the machine's floor — the same paced readers (thin framed
// client) against the raw echo server, which does no work at all.
// The sidecar is restarted before each phase, so the event-loop delay it
// reports in `stats` covers that phase alone.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { connect } from '../client/index.js';
import { benchScript, makeTempDir, removeTempDir, runWorkers, startServer, startSidecar, type ServerProcess, type WorkerSpec } from './bench-processes.js';
import type { GetWorkerResult } from './get-worker.js';
import { LatencyHistogram, round, type LatencySummary } from './latency-histogram.js';
import { sidecarWithDocument } from './document-load.js';
import { readFileStats, waitForFileCurrent, type SidecarFileStats } from './file-stats.js';
import { keyName, sectionName } from './realistic-config.js';
import type { SectionWriterResult } from './section-writer-worker.js';
import { markdownTable, ms, ratio, whole, type Goal, type WorkloadReport } from './workload-report.js';

export interface LargeDocumentFreezeOptions {
  sizesBytes: number[];
  sections: number;
  readers: number;
  readerIntervalMs: number;
  idleMs: number;
  rewriteMs: number;
  /** How readers read: through the socket (default) or from a local replica (the replica workload's rerun). */
  readerClient?: 'library' | 'replica';
}

interface DelaySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

interface PhaseResult {
  gets: number;
  getLatency: LatencySummary;
  getErrors: number;
  /** As `stats` reports it: how long the loop was held up beyond the monitor's sampling interval. */
  eventLoopDelay: DelaySummary;
  writer?: { sets: number; setsPerSecond: number; latency: LatencySummary; errors: number; firstError?: string };
  /** Background rewrites of the file during the phase; undefined when the sidecar writes the file at commit. */
  fileRewrites?: number;
}

interface SizeResult {
  targetBytes: number;
  fileBytes: number;
  buildMs: number;
  buildRequests: number;
  idle: PhaseResult;
  rewrite: PhaseResult;
}

const READ_PATH = `${sectionName(10)}.${keyName(1)}`;
const WRITE_SECTION = sectionName(50);
const WRITE_PATH = `${WRITE_SECTION}.${keyName(2)}`;

export async function runLargeDocumentFreeze(options: LargeDocumentFreezeOptions): Promise<WorkloadReport> {
  const floor = await machineFloor(options);
  const sizes: SizeResult[] = [];
  for (const targetBytes of options.sizesBytes) sizes.push(await runSize(targetBytes, options));

  const goals: Goal[] = sizes.flatMap((s) => (s.targetBytes >= LARGE_BYTES ? largeDocumentGoals(s) : smallDocumentGoals(s, floor.latency)));
  const errors = sizes.reduce((n, s) => n + s.idle.getErrors + s.rewrite.getErrors + (s.rewrite.writer?.errors ?? 0), 0);
  goals.push({ goal: 'freeze workload: no failed gets or sets', measured: `${errors} errors`, pass: errors === 0 });

  const floorRow = ['–', 'raw echo server, framed readers (machine floor)', whole(floor.gets), ms(floor.latency.p50Ms), ms(floor.latency.p99Ms), ms(floor.latency.maxMs), '–', '–', '–', '–', '–'];
  const rows = [floorRow, ...sizes.flatMap((s) =>
    (['idle', 'rewrite'] as const).map((phase) => {
      const p = s[phase];
      return [
        `${mbLabel(s.targetBytes)} (${(s.fileBytes / 1024 / 1024).toFixed(2)} MiB file)`,
        phase === 'idle' ? 'readers only' : 'readers + rewriter',
        whole(p.gets),
        ms(p.getLatency.p50Ms),
        ms(p.getLatency.p99Ms),
        ms(p.getLatency.maxMs),
        p.writer === undefined ? '–' : whole(p.writer.setsPerSecond),
        p.writer === undefined ? '–' : ms(p.writer.latency.p50Ms),
        p.writer === undefined ? '–' : ms(p.writer.latency.p99Ms),
        `${ms(p.eventLoopDelay.p99Ms)} / ${ms(p.eventLoopDelay.maxMs)}`,
        phase === 'idle' ? '–' : p.fileRewrites === undefined ? 'n/a' : whole(p.fileRewrites),
      ];
    }),
  )];
  const ratios = sizes.map(
    (s) =>
      `${mbLabel(s.targetBytes)}: get p99 rewriting / idle = ${ratio(s.rewrite.getLatency.p99Ms, s.idle.getLatency.p99Ms)}×, ` +
      `rewriting / machine floor = ${ratio(s.rewrite.getLatency.p99Ms, floor.latency.p99Ms)}×`,
  );
  const markdown = [
    `${options.sections} sections of nested keys (URLs, labels, numbers, upstream objects). ${options.readers} reader processes each get \`${READ_PATH}\` ` +
      `about every ${options.readerIntervalMs} ms through the client library; the rewriter sets \`${WRITE_PATH}\` in a loop, one set at a time. ` +
      `Idle ${options.idleMs / 1000} s, rewriting ${options.rewriteMs / 1000} s; the sidecar is restarted before each phase, so the first set ` +
      `of each rewrite phase serialises the whole document from scratch. Event-loop delay is the sidecar's \`stats\` figure (time the loop was held up beyond the monitor's sampling interval); ` +
      `file rewrites are the sidecar's background rewrites during the phase (\`stats.file.rewrites\`; n/a when the file is written at each commit).`,
    '',
    markdownTable(
      ['document', 'phase', 'gets', 'get p50 ms', 'get p99 ms', 'get max ms', 'writer sets/s', 'set p50 ms', 'set p99 ms', 'sidecar event-loop delay p99 / max ms', 'file rewrites'],
      rows,
    ),
    '',
    ratios.join('; ') + '.',
    '',
    sizes.map((s) => `Build of ${mbLabel(s.targetBytes)}: ${s.buildRequests} batch request(s) in ${whole(s.buildMs)} ms.`).join(' '),
  ].join('\n');

  return {
    key: 'largeDocumentFreeze',
    title: '3. "KeyRx freeze": get latency while a large document is rewritten',
    data: { options, readPath: READ_PATH, writePath: WRITE_PATH, floor, sizes },
    markdown,
    goals,
  };
}

/** The paced readers against a server that does nothing: what this machine's scheduling alone costs. */
async function machineFloor(options: LargeDocumentFreezeOptions): Promise<{ gets: number; latency: LatencySummary }> {
  const dir = await makeTempDir();
  let server: ServerProcess | undefined;
  try {
    const socketPath = path.join(dir, 'raw.sock');
    server = await startServer(benchScript('raw-echo-server.js'), ['--socket', socketPath, '--value', '1234'], 'raw-echo: listening');
    const results = await runWorkers<GetWorkerResult>(
      Array.from({ length: options.readers }, () => ({
        script: 'get-worker.js',
        args: ['--socket', socketPath, '--client', 'framed', '--mode', 'paced', '--path', READ_PATH, '--interval-ms', String(options.readerIntervalMs), '--duration-ms', String(options.idleMs)],
      })),
      options.idleMs + 60_000,
    );
    await server.stop();
    return { gets: results.reduce((n, r) => n + r.count, 0), latency: LatencyHistogram.mergeAll(results.map((r) => r.latency)).summary() };
  } finally {
    await server?.kill9();
    await removeTempDir(dir);
  }
}

/** From this size on, the goals for a large document apply: a set and the readers must not pay for its size. */
const LARGE_BYTES = 10 * 1024 * 1024;
const SET_P50_GOAL_MS = 2;
const LOOP_DELAY_P99_GOAL_MS = 5;
const READER_SLOWDOWN_GOAL = 1.5;

function largeDocumentGoals(s: SizeResult): Goal[] {
  const mb = mbLabel(s.targetBytes);
  const set = s.rewrite.writer!.latency;
  const loop = s.rewrite.eventLoopDelay;
  const slowdown = ratio(s.rewrite.getLatency.p99Ms, s.idle.getLatency.p99Ms);
  const rewrites = s.rewrite.fileRewrites === undefined ? 'the file rewritten on every commit' : `${whole(s.rewrite.fileRewrites)} background rewrites of the file meanwhile`;
  return [
    { goal: `${mb} document: set p50 ≤ ${SET_P50_GOAL_MS} ms`, measured: `${ms(set.p50Ms)} ms (p99 ${ms(set.p99Ms)} ms)`, pass: set.p50Ms <= SET_P50_GOAL_MS },
    {
      goal: `${mb} document: sidecar event-loop delay p99 ≤ ${LOOP_DELAY_P99_GOAL_MS} ms while sets run`,
      measured: `${ms(loop.p99Ms)} ms (max ${ms(loop.maxMs)} ms)`,
      pass: loop.p99Ms <= LOOP_DELAY_P99_GOAL_MS,
    },
    {
      goal: `${mb} document: socket get p99 while the file is rewritten ≤ ${READER_SLOWDOWN_GOAL}× the same readers idle`,
      measured: `${slowdown}× (${ms(s.rewrite.getLatency.p99Ms)} vs ${ms(s.idle.getLatency.p99Ms)} ms; ${rewrites})`,
      pass: slowdown <= READER_SLOWDOWN_GOAL,
    },
  ];
}

function smallDocumentGoals(s: SizeResult, floor: LatencySummary): Goal[] {
  const mb = mbLabel(s.targetBytes);
  const p99 = s.rewrite.getLatency.p99Ms;
  const set = s.rewrite.writer!.latency;
  return [
    { goal: `get p99 while rewriting a ${mb} document < 5 ms`, measured: `${ms(p99)} ms (same readers: idle sidecar ${ms(s.idle.getLatency.p99Ms)} ms, raw echo ${ms(floor.p99Ms)} ms)`, pass: p99 < 5 },
    {
      goal: `${mb} document: set p50 / p99 and sidecar event-loop delay p99 while sets run (reported)`,
      measured: `set ${ms(set.p50Ms)} / ${ms(set.p99Ms)} ms; event loop ${ms(s.rewrite.eventLoopDelay.p99Ms)} ms`,
      pass: null,
    },
  ];
}

function mbLabel(bytes: number): string {
  return `${round(bytes / (1024 * 1024), 1)} MB`;
}

export async function runSize(targetBytes: number, options: LargeDocumentFreezeOptions): Promise<SizeResult> {
  const prepared = await sidecarWithDocument(targetBytes, options.sections);
  const { dir, configPath, socketPath, built } = prepared;
  let sidecar: ServerProcess | undefined = prepared.sidecar;
  try {
    await sidecar.stop();
    const fileBytes = (await stat(configPath)).size;

    const readers = (durationMs: number): WorkerSpec[] =>
      Array.from({ length: options.readers }, () => ({
        script: 'get-worker.js',
        args: ['--socket', socketPath, '--client', options.readerClient ?? 'library', '--mode', 'paced', '--path', READ_PATH, '--interval-ms', String(options.readerIntervalMs), '--duration-ms', String(durationMs)],
      }));

    sidecar = await startSidecar(configPath, socketPath);
    const idleReaders = await runWorkers<GetWorkerResult>(readers(options.idleMs), options.idleMs + 60_000);
    const idle = phaseResult(idleReaders, await eventLoopDelay(socketPath));
    await sidecar.stop();

    sidecar = await startSidecar(configPath, socketPath);
    const writerSpec: WorkerSpec = { script: 'section-writer-worker.js', args: ['--socket', socketPath, '--path', WRITE_PATH, '--duration-ms', String(options.rewriteMs)] };
    const before = await readFileStats(socketPath);
    const loaded = await runWorkers<GetWorkerResult | SectionWriterResult>([...readers(options.rewriteMs), writerSpec], options.rewriteMs + 120_000);
    const writer = loaded.pop() as SectionWriterResult;
    const rewrite = phaseResult(loaded as GetWorkerResult[], await eventLoopDelay(socketPath));
    rewrite.fileRewrites = rewritesSince(before, await readFileStats(socketPath));
    await waitForFileCurrent(socketPath, 60_000);
    rewrite.writer = {
      sets: writer.sets,
      setsPerSecond: (writer.sets / writer.elapsedMs) * 1000,
      latency: LatencyHistogram.from(writer.latency).summary(),
      errors: writer.errors,
      firstError: writer.firstError,
    };
    await sidecar.stop();

    // The file must still be the whole document, with the rewriter's last value.
    const doc = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    if (Object.keys(doc).length !== options.sections || !String(doc[WRITE_SECTION]?.[keyName(2)]).startsWith('rewritten value')) {
      throw new Error(`the ${mbLabel(targetBytes)} document on disk is not what was written`);
    }
    return { targetBytes, fileBytes, buildMs: built.ms, buildRequests: built.requests, idle, rewrite };
  } finally {
    await sidecar?.kill9();
    await removeTempDir(dir);
  }
}

async function eventLoopDelay(socketPath: string): Promise<DelaySummary> {
  const client = connect({ socketPath, name: 'bench-stats' });
  try {
    return (await client.stats()).eventLoopDelay as DelaySummary;
  } finally {
    client.close();
  }
}

function rewritesSince(before: SidecarFileStats, after: SidecarFileStats): number | undefined {
  if (before.file === undefined || after.file === undefined) return undefined;
  return after.file.rewrites - before.file.rewrites;
}

function phaseResult(readers: GetWorkerResult[], reported: DelaySummary): PhaseResult {
  return {
    gets: readers.reduce((n, r) => n + r.count, 0),
    getLatency: LatencyHistogram.mergeAll(readers.map((r) => r.latency)).summary(),
    getErrors: readers.reduce((n, r) => n + r.errors, 0),
    eventLoopDelay: reported,
  };
}
