// get / set / unset / dump / health / stats: one call each through the client library.
import { connect, ConfigSidecarError, type ConfigClient } from '../client/index.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';

export interface ClientArgs {
  socket?: string;
  app?: string;
  timeoutMs: number;
  json: boolean;
}

type Output = { stdout: string; exit: number };

export async function runClientCommand(command: string, positionals: string[], args: ClientArgs, flags: { string: boolean; ifModRevision?: number }): Promise<number> {
  const client = connect({ socketPath: args.socket, app: args.app, name: `config-sidecar ${command}`, defaultTimeoutMs: args.timeoutMs });
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
  flags: { string: boolean; ifModRevision?: number },
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
      const result = await client.set(path, flags.string ? raw : parseValue(raw), { ifModRevision: flags.ifModRevision });
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
    case 'stats':
      return { stdout: JSON.stringify(await client.stats(), null, 2), exit: ExitCode.OK };
    default:
      throw new Error(`unknown command ${command}`);
  }
}

/** VALUE is JSON when it parses as JSON, else the literal string (so `set name alice` works). */
function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    return raw;
  }
}
