// Whether the process a lock record names still runs. `kill(pid, 0)` alone
// is not enough: it succeeds on a zombie (a sidecar killed -9 whose parent
// has not reaped it yet), and on an unrelated process that was given the pid
// after the owner died. What is checked, per platform:
//   Linux: /proc/<pid>/stat. State Z (zombie) or X (dead) is dead. A process
//     that started after the record was written cannot be the owner (its pid
//     was reused): its start time is boot time (/proc/stat btime, whole
//     seconds) plus the starttime field (clock ticks), compared with a margin.
//   Elsewhere: kill(pid, 0) only (EPERM counts as alive). A zombie or a reused
//     pid there keeps the lock until proper-lockfile finds it stale.
// The caller also probes the owner's socket when the pid is dead.
import { readFile } from 'node:fs/promises';

/** Clock ticks per second for /proc's starttime (USER_HZ): 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;
/** btime is whole seconds and ticks are 10 ms: a start time is known to about a second. */
const START_TIME_MARGIN_MS = 2000;

/** True when `pid` is a live process that may be the one that wrote a record at `recordedAt`. */
export async function processAlive(pid: number, recordedAt?: Date): Promise<boolean> {
  const signal = signalable(pid);
  if (signal === 'no') return false;
  if (process.platform !== 'linux') return true;
  const stat = await procStat(pid);
  // Not in /proc: gone since the signal check, or hidden from us (hidepid) while it runs as another user.
  if (stat === undefined) return signal === 'not-permitted';
  if (stat.state === 'Z' || stat.state === 'X' || stat.state === 'x') return false;
  if (recordedAt === undefined || Number.isNaN(recordedAt.getTime())) return true;
  const bootMs = await bootTimeMs();
  if (bootMs === undefined) return true;
  const startedAt = bootMs + (stat.startTicks / USER_HZ) * 1000;
  return startedAt <= recordedAt.getTime() + START_TIME_MARGIN_MS;
}

/** kill(pid, 0): the process exists ('yes'), exists but belongs to someone else ('not-permitted'), or not. */
function signalable(pid: number): 'yes' | 'not-permitted' | 'no' {
  try {
    process.kill(pid, 0);
    return 'yes';
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM' ? 'not-permitted' : 'no';
  }
}

/** State letter and start time (ticks after boot) from /proc/<pid>/stat; undefined if the process is gone. */
async function procStat(pid: number): Promise<{ state: string; startTicks: number } | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT' || (error as { code?: string }).code === 'ESRCH') return undefined;
    throw error;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ')': fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, starttime field 22 (proc(5)).
  const state = fields[0];
  const startTicks = Number(fields[22 - 3]);
  if (state === undefined || !Number.isFinite(startTicks)) throw new Error(`cannot parse /proc/${pid}/stat: ${text.slice(0, 200)}`);
  return { state, startTicks };
}

async function bootTimeMs(): Promise<number | undefined> {
  const btime = /^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'))?.[1];
  return btime === undefined ? undefined : Number(btime) * 1000;
}
