// Writes a run's results: bench/results/latest.json (every figure) and
// bench/results/latest.md (the machine, the command, the goals and one
// table per workload). Each file is written to a temp name and renamed, so a
// run that fails half-way never leaves a torn report.
import { execFile } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NOISY_ABOVE } from './machine-quiet.js';
import { markdownTable, type Goal, type WorkloadReport } from './workload-report.js';

/** bench/results in the source tree (the runner runs from dist/bench). */
export const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  kernel: string;
  node: string;
  date: string;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** The code measured: commit and whether the working tree differed from it. */
export interface CodeVersion {
  commit: string;
  /** Files changed but not committed (outside bench/results), which the run also measured. */
  uncommittedFiles: number;
}

const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url));

export async function describeCode(): Promise<CodeVersion> {
  const git = (...args: string[]) => promisify(execFile)('git', args, { cwd: PROJECT_DIR }).then((r) => r.stdout.trim());
  try {
    const commit = await git('rev-parse', '--short', 'HEAD');
    const status = await git('status', '--porcelain');
    const changed = status.split('\n').filter((line) => line.length > 0 && !line.slice(3).startsWith('bench/results/'));
    return { commit, uncommittedFiles: changed.length };
  } catch {
    return { commit: 'unknown (not a git checkout)', uncommittedFiles: 0 };
  }
}

export interface RunReport {
  mode: 'full' | 'quick';
  command: string;
  machine: Machine;
  code: CodeVersion;
  durationSeconds: number;
  workloads: WorkloadReport[];
}

export async function writeReport(report: RunReport): Promise<{ json: string; markdown: string }> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const goals = report.workloads.flatMap((w) => w.goals);
  const json = {
    mode: report.mode,
    command: report.command,
    machine: report.machine,
    code: report.code,
    durationSeconds: report.durationSeconds,
    goals,
    conditions: Object.fromEntries(report.workloads.map((w) => [w.key, w.conditions ?? null])),
    workloads: Object.fromEntries(report.workloads.map((w) => [w.key, w.data])),
  };
  const jsonPath = path.join(RESULTS_DIR, 'latest.json');
  const mdPath = path.join(RESULTS_DIR, 'latest.md');
  await replace(jsonPath, JSON.stringify(json, null, 2) + '\n');
  await replace(mdPath, markdown(report, goals));
  return { json: jsonPath, markdown: mdPath };
}

function markdown(report: RunReport, goals: Goal[]): string {
  const m = report.machine;
  const verdict = (g: Goal) => (g.pass === null ? 'reported' : g.pass ? 'PASS' : 'FAIL');
  return [
    '# config-sidecar benchmarks',
    '',
    report.mode === 'quick' ? '**Quick smoke run** (`--quick`): short durations, figures are indicative only.\n' : '',
    markdownTable(
      ['machine', ''],
      [
        ['CPU', m.cpuModel],
        ['cores', String(m.cores)],
        ['memory', `${m.memoryGiB} GiB`],
        ['OS', `${m.platform}, kernel ${m.kernel}`],
        ['Node.js', m.node],
        ['date', m.date],
        ['command', `\`${report.command}\``],
        ['code', `${report.code.commit}${report.code.uncommittedFiles > 0 ? ` + ${report.code.uncommittedFiles} uncommitted file(s)` : ''}`],
        ['run time', `${Math.round(report.durationSeconds)} s`],
        ['other processes\' CPU share before / during each workload', report.workloads.map((w) => `${w.key} ${describeConditions(w)}`).join('; ')],
      ],
    ),
    '',
    '## Goals',
    '',
    markdownTable(['goal', 'measured', 'result'], goals.map((g) => [g.goal, g.measured, verdict(g)])),
    '',
    ...report.workloads.flatMap((w) => [`## ${w.title}`, '', w.markdown, '']),
  ].join('\n');
}

function describeConditions(w: WorkloadReport): string {
  const c = w.conditions;
  if (c === undefined) return 'not checked';
  const pct = (n: number) => `${Math.round(n * 100)}%`;
  const waited = c.waitedSeconds > 0 ? ` (after waiting ${c.waitedSeconds} s)` : '';
  const during = c.during?.othersShare;
  const suspect = !c.quiet || (during !== undefined && during > NOISY_ABOVE) ? ' — figures suspect' : '';
  return `${pct(c.busyAtStart)}${waited} / ${during === undefined ? 'n/a' : pct(during)}${suspect}`;
}

async function replace(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}
