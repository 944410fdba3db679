// A client process for the autostart race: loads the client, says "waiting",
// and on "go" (a line on stdin, sent to every worker at once) connects with
// autoStart, asks `info` who serves it, prints one JSON line, and stays
// connected until its stdin closes.
// Usage: node auto-start-worker.js SOCKET CONFIG
import { createInterface } from 'node:readline';
import { connect } from '../../client/index.js';

export interface AutoStartReport {
  /** The pid of the sidecar that answered. */
  sidecarPid: number;
  /** This worker's pid. */
  pid: number;
}

const [socketPath, configPath] = process.argv.slice(2);
if (socketPath === undefined || configPath === undefined) {
  process.stderr.write('usage: auto-start-worker SOCKET CONFIG\n');
  process.exit(2);
}

const lines = createInterface({ input: process.stdin });
process.stdout.write('waiting\n');
lines.once('line', () => {
  const client = connect({ socketPath, autoStart: { configPath }, defaultTimeoutMs: 30_000 });
  client
    .info()
    .then((info) => {
      const report: AutoStartReport = { sidecarPid: (info.sidecar as { pid: number }).pid, pid: process.pid };
      process.stdout.write(JSON.stringify(report) + '\n');
      // Connected until the test lets go, so it can count the connections.
      lines.once('close', () => client.close());
    })
    .catch((error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      client.close();
      process.exitCode = 1;
    });
});
