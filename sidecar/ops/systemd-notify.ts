// systemd's Type=notify protocol (readiness, reload, stop, watchdog) through
// the `systemd-notify` command. Node has no AF_UNIX datagram sockets and this
// project takes no native addon, so each message is one systemd-notify run:
// `--pid=<our pid>` names us as the main process, and systemd-notify's own
// barrier (its default since systemd 246) keeps it alive until systemd has
// read the message, so it is never dropped for coming from a process that is
// already gone. Messages go out one at a time, in order (RELOADING=1 must
// not overtake the READY=1 before it). A missing command or a failed run is
// logged, never fatal: the sidecar serves the same with or without systemd.
import { execFile } from 'node:child_process';
import type { Logger } from './logger.js';

/** How long one systemd-notify run may take (its barrier waits up to 5 s by itself). */
const SEND_TIMEOUT_MS = 10_000;

/**
 * The watchdog ping interval systemd asks of this process: half of
 * WATCHDOG_USEC, as sd_watchdog_enabled() advises; undefined when no watchdog
 * is set, the value is not a positive integer, or WATCHDOG_PID names another process.
 */
export function watchdogIntervalMs(env: Record<string, string | undefined>, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC ?? '');
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  const watchdogPid = env.WATCHDOG_PID;
  if (watchdogPid !== undefined && watchdogPid !== '' && Number(watchdogPid) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** A STATUS= value is one line. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

export class SystemdNotifier {
  private queue: Promise<void> = Promise.resolve();
  private missing = false;
  private failing = false;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private watchdogPending = false;

  private constructor(
    private readonly log: Logger,
    private readonly env: Record<string, string | undefined>,
    private readonly pid: number,
    private readonly command: string,
  ) {}

  /** A notifier when systemd asked for one (NOTIFY_SOCKET is set), else undefined. */
  static fromEnv(log: Logger, env: Record<string, string | undefined> = process.env, pid = process.pid, command = 'systemd-notify'): SystemdNotifier | undefined {
    if (!env.NOTIFY_SOCKET) return undefined;
    return new SystemdNotifier(log, env, pid, command);
  }

  /** Start-up finished, or a reload did: `READY=1` with a status line. */
  ready(status: string): Promise<void> {
    return this.send(['READY=1', `STATUS=${oneLine(status)}`]);
  }

  /** A reload (SIGHUP) begins; `ready()` ends it. MONOTONIC_USEC lets systemd match the two. */
  reloading(): Promise<void> {
    return this.send(['RELOADING=1', `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`, 'STATUS=re-reading the config file']);
  }

  /** Shutdown begins: `STOPPING=1`, and the watchdog stops. */
  stopping(status = 'stopping'): Promise<void> {
    this.stopWatchdog();
    return this.send(['STOPPING=1', `STATUS=${oneLine(status)}`]);
  }

  /** A status line only (e.g. why start-up failed). */
  status(text: string): Promise<void> {
    return this.send([`STATUS=${oneLine(text)}`]);
  }

  /** Pings `WATCHDOG=1` every WATCHDOG_USEC/2 when systemd set a watchdog for this process; a blocked event loop misses pings, which is the point. */
  startWatchdog(): void {
    const intervalMs = watchdogIntervalMs(this.env, this.pid);
    if (intervalMs === undefined || this.watchdogTimer !== undefined) return;
    this.watchdogTimer = setInterval(() => {
      // One ping waiting is enough: a slow systemd-notify must not pile up runs behind it.
      if (this.watchdogPending) return;
      this.watchdogPending = true;
      void this.send(['WATCHDOG=1']).then(() => (this.watchdogPending = false));
    }, intervalMs);
    this.watchdogTimer.unref();
    this.log.info({ intervalMs }, 'systemd watchdog: pinging');
  }

  stopWatchdog(): void {
    clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
  }

  /** Resolves once every message queued so far has been sent or has failed. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Queues one message (one datagram of VAR=VALUE lines); resolves once sent or failed, never rejects. */
  send(assignments: string[]): Promise<void> {
    this.queue = this.queue.then(() => this.run(assignments));
    return this.queue;
  }

  private run(assignments: string[]): Promise<void> {
    if (this.missing) return Promise.resolve();
    return new Promise<void>((resolve) => {
      execFile(this.command, [`--pid=${this.pid}`, ...assignments], { env: this.env, timeout: SEND_TIMEOUT_MS }, (error, _stdout, stderr) => {
        if (error === null) {
          if (this.failing) this.log.info('systemd-notify works again');
          this.failing = false;
          resolve();
          return;
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          this.missing = true;
          this.stopWatchdog();
          this.log.warn(
            { command: this.command },
            'NOTIFY_SOCKET is set but systemd-notify was not found: readiness and watchdog are not reported (install systemd, or use Type=simple)',
          );
        } else {
          // Logged at warn once per run of failures: a failing watchdog ping every few seconds must not flood the journal.
          const level = this.failing ? 'debug' : 'warn';
          this.failing = true;
          this.log[level]({ err: error, stderr: stderr.trim(), notification: assignments[0] }, 'systemd-notify failed');
        }
        resolve();
      });
    });
  }
}
