// `config-sidecar watch [PATH]`: one JSON line per change event, until
// SIGINT/SIGTERM. Rides through sidecar restarts like any client; only the
// first connection must succeed within --timeout. `--rev N` resumes from
// revision N (the client's startRevision).
import { formatPath } from '../protocol/paths.js';
import { checkSocketExists, connectFor, reportCallError, type ClientArgs } from './client-commands.js';
import type { WatchOptions } from '../client/index.js';
import { ExitCode } from './exit-codes.js';

/** Where the watch starts: the value now (or not), or the changes from a revision on. */
export type WatchStart = { initial: 'snapshot' | 'none' } | { fromRevision: number };

export async function watchCommand(path: string, args: ClientArgs, start: WatchStart): Promise<number> {
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
    const options: WatchOptions = 'fromRevision' in start ? { initial: 'none', startRevision: start.fromRevision } : { initial: start.initial };
    stream = client.watch(path, options);
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
