// `config-sidecar serve`: run a sidecar in the foreground until SIGTERM/SIGINT.
import { Sidecar } from '../sidecar/index.js';
import type { Limits } from '../protocol/index.js';
import type { LogLevel } from '../sidecar/index.js';
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
}

export async function serve(args: ServeArgs): Promise<number> {
  let sidecar: Sidecar;
  let fatal: Error | undefined;
  try {
    sidecar = await Sidecar.start({
      configPath: args.config,
      socketPath: args.socket,
      app: args.app,
      logLevel: args.logLevel,
      lockStaleMs: args.lockStaleMs,
      schemaPath: args.schema,
      limits: args.limits,
      onFatal: (error) => {
        fatal = error;
        void sidecar.stop().finally(() => process.exit(ExitCode.REJECTED));
      },
    });
  } catch (error) {
    process.stderr.write(`config-sidecar: cannot start: ${(error as Error).message}\n`);
    return ExitCode.REJECTED;
  }
  process.stderr.write(`config-sidecar: serving ${sidecar.configPath} on ${sidecar.socketPath}\n`);
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      sidecar.log.info({ signal }, 'signal received');
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
      void sidecar.reload();
    });
  });
}
