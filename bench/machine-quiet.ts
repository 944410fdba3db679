// Benchmarks on a small shared machine are only meaningful when nothing else
// is using the CPU. Before each workload the runner samples how busy the
// machine is (with none of its own processes running) and waits, within a
// bound, for it to be quiet; during the workload it measures how much CPU
// processes other than its own used. Both go into the report.
import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** Share of all cores busy over `sampleMs`, 0..1. */
export async function cpuBusy(sampleMs = 1000): Promise<number> {
  const before = totals();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  const after = totals();
  const total = after.total - before.total;
  return total <= 0 ? 0 : (after.busy - before.busy) / total;
}

/** CPU time (ms) of this process plus its children that have exited and been waited for (Linux /proc). */
async function ownTreeCpuMs(): Promise<number | undefined> {
  try {
    const stat = await readFile('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14-17 overall, 11-14 after comm and state; clock ticks of 10 ms.
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU share other processes may take during a workload before its figures are flagged as suspect. */
export const NOISY_ABOVE = 0.05;

export interface ForeignLoad {
  /** Share of all cores used by processes that are not the runner or its children, 0..1. */
  othersShare: number | undefined;
  /** Share of all cores used by the benchmark itself. */
  ownShare: number | undefined;
}

/**
 * Starts measuring; the returned function, called once every child started
 * meanwhile has exited, says how much CPU other processes used.
 */
export async function measureForeignLoad(): Promise<() => Promise<ForeignLoad>> {
  const machineBefore = totals();
  const ownBefore = await ownTreeCpuMs();
  return async () => {
    const machineAfter = totals();
    const ownAfter = await ownTreeCpuMs();
    const total = machineAfter.total - machineBefore.total;
    if (ownBefore === undefined || ownAfter === undefined || total <= 0) return { othersShare: undefined, ownShare: undefined };
    const own = ownAfter - ownBefore;
    const busy = machineAfter.busy - machineBefore.busy;
    return { othersShare: round2(Math.max(0, (busy - own) / total)), ownShare: round2(own / total) };
  };
}

function totals(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

export interface QuietCheck {
  /** CPU busy share when the workload started. */
  busyAtStart: number;
  /** How long the runner waited for other load to go away. */
  waitedSeconds: number;
  /** False when the machine was still busy after the wait: treat the figures with suspicion. */
  quiet: boolean;
  /** Set after the workload: CPU used meanwhile by other processes and by the benchmark. */
  during?: ForeignLoad;
}

/** Waits until less than `threshold` of the CPU is busy, for at most `maxWaitMs`. */
export async function waitForQuiet(threshold: number, maxWaitMs: number, onWait: (busy: number) => void): Promise<QuietCheck> {
  const start = Date.now();
  for (;;) {
    const busy = await cpuBusy();
    const waitedSeconds = Math.round((Date.now() - start) / 1000);
    if (busy < threshold) return { busyAtStart: round2(busy), waitedSeconds, quiet: true };
    if (Date.now() - start >= maxWaitMs) return { busyAtStart: round2(busy), waitedSeconds, quiet: false };
    onWait(busy);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
