// `config-sidecar serve`: run a sidecar in the foreground until SIGTERM/SIGINT.
// Under systemd (NOTIFY_SOCKET set) it reports readiness, reloads, shutdown
// and watchdog pings, so a `Type=notify` unit knows when it really serves.
// Signals that arrived while it was starting (start-signals.ts) are answered
// once it serves: a stop stops it before it announces itself, SIGHUPs become
// one re-read of the file.
import { Sidecar, createLogger } from '../sidecar/index.js';
import type { Limits } from '../protocol/index.js';
import type { Logger, LogLevel, SocketAccess } from '../sidecar/index.js';
import { SystemdNotifier } from '../sidecar/ops/systemd-notify.js';
import type { QuarantineBounds } from '../sidecar/file/quarantine.js';
import type { LayerOptions } from '../sidecar/layers/layer-sources.js';
import { reportError } from './cli-errors.js';
import { ExitCode } from './exit-codes.js';
import type { ServeSignals, StopSignal } from './start-signals.js';

export interface ServeArgs {
  config?: string;
  socket?: string;
  app?: string;
  logLevel?: LogLevel;
  lockStaleMs?: number;
  /** A zod schema module or JSON Schema file. */
  schema?: string;
  limits?: Partial<Limits>;
  /** Mode and group of the socket (--socket-mode, --socket-group). */
  socketAccess?: SocketAccess;
  /** A second, read-only socket (--read-only-socket and its own mode and group). */
  readOnlySocket?: { path: string } & SocketAccess;
  /** Installed by the entry point before anything else loaded. */
  signals: ServeSignals;
  /** How many refused files quarantine/ keeps, and how many bytes (--quarantine). */
  quarantine?: QuarantineBounds;
  /** A start-up failure as one JSON line (--json). */
  json?: boolean;
  /** --fleet, --system-file, --locks. */
  layers?: LayerOptions;
}

export async function serve(args: ServeArgs): Promise<number> {
  const log = createLogger(args.logLevel);
  const notifier = SystemdNotifier.fromEnv(log);
  let sidecar: Sidecar;
  let fatal: Error | undefined;
  try {
    sidecar = await Sidecar.start({
      configPath: args.config,
      socketPath: args.socket,
      app: args.app,
      logger: log,
      lockStaleMs: args.lockStaleMs,
      schemaPath: args.schema,
      limits: args.limits,
      socketAccess: args.socketAccess,
      readOnlySocket: args.readOnlySocket,
      quarantine: args.quarantine,
      layers: args.layers,
      onFatal: (error) => {
        fatal = error;
        const stopped = notifier?.stopping(`stopping: ${error.message}`);
        void sidecar
          .stop()
          .then(() => stopped)
          .finally(() => process.exit(ExitCode.REJECTED));
      },
    });
  } catch (error) {
    const message = (error as Error).message;
    if (args.json) reportError({ code: 'CANNOT_START', message }, true);
    else process.stderr.write(`config-sidecar: cannot start: ${message}\n`);
    await notifier?.status(`cannot start: ${message}`);
    return ExitCode.REJECTED;
  }
  const { signals } = args;
  const serving = `serving ${sidecar.configPath} on ${sidecar.socketPath}`;
  return new Promise<number>((resolve) => {
    const stop = (signal: StopSignal) => {
      sidecar.log.info({ signal }, 'signal received');
      void notifier?.stopping();
      sidecar.stop().then(
        () => resolve(fatal === undefined ? ExitCode.OK : ExitCode.REJECTED),
        (error: unknown) => {
          sidecar.log.error({ err: error }, 'stop failed');
          resolve(ExitCode.REJECTED);
        },
      );
    };
    signals.onStop(stop);
    const early = signals.stopRequested;
    if (early !== undefined) {
      sidecar.log.info({ signal: early }, 'stop signal during start-up: stopping before announcing that it serves');
      stop(early);
      return;
    }
    process.stderr.write(`config-sidecar: ${serving}\n`);
    void notifier?.ready(serving);
    notifier?.startWatchdog();
    if (signals.reloadsDuringStart > 0) sidecar.log.info({ signals: signals.reloadsDuringStart }, 'SIGHUP during start-up: re-reading the config file now');
    signals.onLevelStep(cycleLogLevel(sidecar.log, args.logLevel ?? 'info'));
    signals.onReload(() => {
      sidecar.log.info('SIGHUP: re-reading the config file');
      void notifier?.reloading();
      void sidecar.reload().then(
        () => notifier?.ready(serving),
        (error: unknown) => {
          // The last good config is still served, so the service is ready again; health tells what went wrong.
          sidecar.log.error({ err: error }, 'reload failed');
          return notifier?.ready(serving);
        },
      );
    });
  });
}

/**
 * SIGUSR2: one step more verbose each time, from the level `serve` started with to debug, to
 * trace, and back (nginx and HAProxy style: no restart to see what a running sidecar does).
 */
function cycleLogLevel(log: Logger, base: LogLevel): () => void {
  const levels: LogLevel[] = [base, ...(['debug', 'trace'] as const).filter((level) => log.levels.values[level]! < (log.levels.values[base] ?? Infinity))];
  return () => {
    // From the level in force: one set by `config-sidecar log-level` outside the cycle steps back to the start level.
    const at = (levels.indexOf(log.level as LogLevel) + 1) % levels.length;
    log.level = levels[at]!;
    // Said whatever the new level: a child with its own level writes even when the parent would not.
    log.child({}, { level: 'info' }).info({ logLevel: log.level, next: levels[(at + 1) % levels.length] }, 'SIGUSR2: log level changed');
  };
}
