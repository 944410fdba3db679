// `config-sidecar watch [PATH]`: one JSON line per change event, until
// SIGINT/SIGTERM. Rides through sidecar restarts like any client; only the
// first connection must succeed within --timeout.
import { formatPath } from '../protocol/paths.js';
import { checkSocketExists, connectFor, reportCallError, type ClientArgs } from './client-commands.js';
import { ExitCode } from './exit-codes.js';

export async function watchCommand(path: string, args: ClientArgs, initial: 'snapshot' | 'none'): Promise<number> {
  const absent = await checkSocketExists(args);
  if (absent !== undefined) return absent;
  const client = connectFor('watch', args);
  try {
    await client.ready();
  } catch (error) {
    client.close();
    return reportCallError(error, args.json);
  }
  let stream;
  try {
    stream = client.watch(path, { initial });
  } catch (error) {
    client.close();
    return reportCallError(error, args.json);
  }
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
    return reportCallError(error, args.json);
  } finally {
    client.close();
  }
  return ExitCode.OK;
}
