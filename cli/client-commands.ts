// get / set / unset / dump / health / info / stats / backups / restore: one call each through the client library.
import { connect, ConfigSidecarError, type AutoStartOptions, type ConfigClient } from '../client/index.js';
import { parseExactJson } from '../protocol/index.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { formatPrometheus, StatsShapeError } from './prometheus.js';

export interface ClientArgs {
  socket?: string;
  app?: string;
  timeoutMs: number;
  json: boolean;
  /** Start a sidecar on these paths when none answers. */
  autoStart: boolean;
  /** The config file an auto-started sidecar serves (--config). */
  config?: string;
  /** Who must own the socket (--expect-owner; default this user). */
  expectOwner?: string;
}

type Output = { stdout: string; exit: number };

/** `--auto-start` (with `--config` when given) as connect() takes it. */
export function autoStartOption(args: ClientArgs): AutoStartOptions | false {
  if (!args.autoStart) return false;
  return args.config === undefined ? {} : { configPath: args.config };
}

export async function runClientCommand(command: string, positionals: string[], args: ClientArgs, flags: { string: boolean; ifModRevision?: number; prometheus: boolean }): Promise<number> {
  const client = connect({
    socketPath: args.socket,
    app: args.app,
    name: `config-sidecar ${command}`,
    defaultTimeoutMs: args.timeoutMs,
    autoStart: autoStartOption(args),
    ...(args.expectOwner === undefined ? {} : { expectedOwner: args.expectOwner }),
  });
  try {
    const output = await execute(client, command, positionals, args, flags);
    if (output.stdout !== '') process.stdout.write(output.stdout + '\n');
    return output.exit;
  } catch (error) {
    if (!(error instanceof ConfigSidecarError)) throw error;
    if (args.json) process.stderr.write(JSON.stringify({ error: { code: error.code, message: error.message, details: error.details } }) + '\n');
    else process.stderr.write(`config-sidecar: ${error.code}: ${error.message}\n`);
    return exitCodeFor(error.code);
  } finally {
    client.close();
  }
}

async function execute(
  client: ConfigClient,
  command: string,
  positionals: string[],
  args: ClientArgs,
  flags: { string: boolean; ifModRevision?: number; prometheus: boolean },
): Promise<Output> {
  switch (command) {
    case 'get': {
      const value = await client.get(positionals[0] ?? '');
      return { stdout: typeof value === 'string' && !args.json ? value : JSON.stringify(value, null, args.json ? undefined : 2), exit: ExitCode.OK };
    }
    case 'dump':
      return { stdout: JSON.stringify(await client.get(''), null, 2), exit: ExitCode.OK };
    case 'set': {
      const [path, raw] = positionals as [string, string];
      const parsed = flags.string ? { value: raw } : parseValue(raw);
      if ('problem' in parsed) {
        process.stderr.write(`config-sidecar: cannot set ${path}: VALUE ${parsed.problem}. To store the text as it is: set ${path} --string ${raw}\n`);
        return { stdout: '', exit: ExitCode.USAGE };
      }
      const result = await client.set(path, parsed.value, { ifModRevision: flags.ifModRevision });
      return { stdout: args.json ? JSON.stringify({ epoch: result.epoch, revision: result.revision }) : '', exit: ExitCode.OK };
    }
    case 'unset': {
      const result = await client.delete(positionals[0]!, { ifModRevision: flags.ifModRevision });
      return { stdout: args.json ? JSON.stringify({ epoch: result.epoch, revision: result.revision, existed: result.results[0]?.existed }) : '', exit: ExitCode.OK };
    }
    case 'health': {
      const health = await client.health();
      return { stdout: JSON.stringify(health, null, 2), exit: health.status === 'ok' ? ExitCode.OK : ExitCode.REJECTED };
    }
    case 'info':
      return { stdout: JSON.stringify(await client.info(), null, 2), exit: ExitCode.OK };
    case 'backups':
      return { stdout: JSON.stringify(await client.backups(), null, 2), exit: ExitCode.OK };
    case 'restore': {
      const n = Number(positionals[0]);
      if (!Number.isSafeInteger(n) || n < 1) {
        process.stderr.write(`config-sidecar: restore takes a backup number (1 = newest), got ${JSON.stringify(positionals[0])}\n`);
        return { stdout: '', exit: ExitCode.USAGE };
      }
      // The sidecar reads the backup from its own state directory: this process opens no file a server named.
      const result = await client.restore(n);
      return { stdout: args.json ? JSON.stringify({ restored: result.restored, epoch: result.epoch, revision: result.revision }) : '', exit: ExitCode.OK };
    }
    case 'stats': {
      const stats = await client.stats();
      if (!flags.prometheus) return { stdout: JSON.stringify(stats, null, 2), exit: ExitCode.OK };
      try {
        // The exposition ends with a line feed already; one is added to every output.
        return { stdout: formatPrometheus(stats).trimEnd(), exit: ExitCode.OK };
      } catch (error) {
        if (!(error instanceof StatsShapeError)) throw error;
        process.stderr.write(`config-sidecar: ${error.message}\n`);
        return { stdout: '', exit: ExitCode.REJECTED };
      }
    }
    default:
      throw new Error(`unknown command ${command}`);
  }
}

/**
 * VALUE is JSON when it parses as JSON, else the literal string (so `set name alice` works).
 * JSON that would not be read exactly (12345678901234567890 would become …7000) is refused, never rounded.
 */
function parseValue(raw: string): { value: unknown } | { problem: string } {
  const read = parseExactJson(raw, Number.MAX_SAFE_INTEGER); // nesting is the sidecar's to judge
  if (read.ok) return { value: read.value };
  return read.syntax ? { value: raw } : { problem: read.problem };
}
