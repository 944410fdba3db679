// `config-sidecar watch [PATH]`: one JSON line per change event, until
// SIGINT/SIGTERM. Rides through sidecar restarts like any client; only the
// first connection must succeed within --timeout.
import { connect, ConfigSidecarError } from '../client/index.js';
import { formatPath } from '../protocol/index.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { autoStartOption, type ClientArgs } from './client-commands.js';

export async function watchCommand(path: string, args: ClientArgs, initial: 'snapshot' | 'none'): Promise<number> {
  const client = connect({
    socketPath: args.socket,
    app: args.app,
    name: 'config-sidecar watch',
    defaultTimeoutMs: args.timeoutMs,
    autoStart: autoStartOption(args),
    ...(args.expectOwner === undefined ? {} : { expectedOwner: args.expectOwner }),
  });
  try {
    await client.ready();
  } catch (error) {
    client.close();
    if (!(error instanceof ConfigSidecarError)) throw error;
    process.stderr.write(`config-sidecar: ${error.code}: ${error.message}\n`);
    return exitCodeFor(error.code);
  }
  const stream = client.watch(path, { initial });
  const stop = () => {
    stream.close();
    client.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for await (const event of stream) {
      const line = {
        revision: event.revision,
        epoch: event.epoch,
        source: event.source,
        ...(event.resync ? { resync: true } : {}),
        changes: event.changes.map((change) => (change.deleted ? { path: formatPath(change.path), deleted: true } : { path: formatPath(change.path), value: change.value })),
      };
      process.stdout.write(JSON.stringify(line) + '\n');
    }
  } catch (error) {
    if (!(error instanceof ConfigSidecarError)) throw error;
    process.stderr.write(`config-sidecar: ${error.code}: ${error.message}\n`);
    return exitCodeFor(error.code);
  } finally {
    client.close();
  }
  return ExitCode.OK;
}
