// CPU time a process has used so far (user + system), read from
// /proc/<pid>/stat on Linux. Used to compare how much work a server does per
// request, which load from client processes sharing the same cores cannot
// blur the way wall-clock throughput is blurred. undefined elsewhere.
import { readFile } from 'node:fs/promises';

/** Kernel clock ticks per second for /proc times; 100 on every mainstream Linux build. */
const TICKS_PER_SECOND = 100;

export async function processCpuMs(pid: number): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) may contain spaces; fields after the closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 overall: 12 and 13 after comm and state.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}
