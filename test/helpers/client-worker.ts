// A client process for integration tests: runs one scenario against a
// sidecar and prints one JSON line with what happened.
// Usage: node client-worker.js <scenario> <args...>
import { readFile } from 'node:fs/promises';
import { connect, ConfigSidecarError } from '../../client/index.js';

type Scenario = (args: string[]) => Promise<unknown>;

const scenarios: Record<string, Scenario> = {
  /** counter SOCKET N: N read-modify-write increments of "counter" through update(). */
  async counter([socketPath, n]) {
    const client = connect({ socketPath: socketPath! });
    try {
      for (let i = 0; i < Number(n); i++) await client.update('counter', (value) => ((value as number | undefined) ?? 0) + 1, { timeoutMs: 30_000 });
      return { done: Number(n) };
    } finally {
      client.close();
    }
  },

  /** raw-reader CONFIG READS: reads and parses the file directly, as a program that ignores the sidecar would. */
  async 'raw-reader'([configPath, reads]) {
    let ok = 0;
    let missing = 0;
    const failures: string[] = [];
    for (let i = 0; i < Number(reads); i++) {
      let text: string;
      try {
        text = await readFile(configPath!, 'utf8');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') {
          missing++;
          continue;
        }
        throw error;
      }
      try {
        JSON.parse(text);
        ok++;
      } catch (error) {
        failures.push(`${(error as Error).message} (${text.length} bytes)`);
      }
    }
    return { ok, missing, failures };
  },

  /** writer SOCKET PREFIX COUNT: sequential sets of PREFIX.k<i> = i. */
  async writer([socketPath, prefix, count]) {
    const client = connect({ socketPath: socketPath! });
    try {
      for (let i = 0; i < Number(count); i++) await client.set(`${prefix}.k${i}`, i, { timeoutMs: 30_000 });
      return { acked: Number(count) };
    } finally {
      client.close();
    }
  },

  /**
   * calls-through-restart SOCKET DURATION_MS: keeps 8 calls (gets and sets) going for the
   * duration, each with a 3 s deadline, and counts how each one ended. Prints once
   * "connected" has been seen twice (the sidecar was restarted underneath) or the duration ends.
   */
  async 'calls-through-restart'([socketPath, durationMs]) {
    const client = connect({ socketPath: socketPath! });
    const outcomes: Record<string, number> = {};
    let started = 0;
    let settled = 0;
    let connects = 0;
    client.on('status', (event) => {
      if (event.type === 'connected') connects++;
      if (event.type === 'connected' && connects === 1) process.stdout.write('READY\n');
    });
    const end = Date.now() + Number(durationMs);
    const loop = async (lane: number) => {
      for (let i = 0; Date.now() < end; i++) {
        started++;
        try {
          if (i % 2 === 0) await client.set(`lane${lane}`, i, { timeoutMs: 3000 });
          else await client.get('', { timeoutMs: 3000 });
          outcomes.ok = (outcomes.ok ?? 0) + 1;
        } catch (error) {
          const code = error instanceof ConfigSidecarError ? error.code : `unexpected: ${(error as Error).message}`;
          outcomes[code] = (outcomes[code] ?? 0) + 1;
        } finally {
          settled++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, lane) => loop(lane)));
    // After the restart the client must be connected again and serving calls.
    const after = await client.get('', { timeoutMs: 5000 }).then(
      () => 'ok',
      (error: unknown) => String((error as Error).message),
    );
    client.close();
    return { started, settled, outcomes, connects, after };
  },
};

const [name, ...args] = process.argv.slice(2);
const scenario = name === undefined ? undefined : scenarios[name];
if (scenario === undefined) {
  process.stderr.write(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}\n`);
  process.exitCode = 2;
} else {
  scenario(args).then(
    (result) => process.stdout.write(JSON.stringify(result) + '\n'),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
