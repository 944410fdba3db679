// `config-sidecar serve`: run a sidecar in the foreground until SIGTERM/SIGINT.
// Under systemd (NOTIFY_SOCKET set) it reports readiness, reloads, shutdown
// and watchdog pings, so a `Type=notify` unit knows when it really serves.
import { Sidecar, createLogger } from '../sidecar/index.js';
import type { Limits } from '../protocol/index.js';
import type { LogLevel } from '../sidecar/index.js';
import { SystemdNotifier } from '../sidecar/systemd-notify.js';
import type { QuarantineBounds } from '../sidecar/quarantine.js';
import { ExitCode } from './exit-codes.js';

export interface ServeArgs {
  config?: string;
  socket?: string;
  app?: string;
  logLevel?: LogLevel;
  lockStaleMs?: number;
  /** A zod schema module or JSON Schema file. */
  schema?: string;
  limits?: Partial<Limits>;
  quarantine?: QuarantineBounds;
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
      quarantine: args.quarantine,
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
    process.stderr.write(`config-sidecar: cannot start: ${message}\n`);
    await notifier?.status(`cannot start: ${message}`);
    return ExitCode.REJECTED;
  }
  const serving = `serving ${sidecar.configPath} on ${sidecar.socketPath}`;
  process.stderr.write(`config-sidecar: ${serving}\n`);
  void notifier?.ready(serving);
  notifier?.startWatchdog();
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
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
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
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
