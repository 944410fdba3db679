// A well-behaved client in its own process, for measuring what hostile peers
// cost everyone else: serial gets through the client library, each timed.
// Usage: node latency-probe.js SOCKET. Prints "READY" once connected; then, for
// each stdin line "measure NAME MS", gets for MS milliseconds and prints one
// JSON line {name, count, errors, p50Ms, p99Ms, maxMs, samples}. "exit" (or EOF) ends it.
import { createInterface } from 'node:readline';
import { connect, type ConfigClient } from '../../client/index.js';

export interface LatencySummary {
  name: string;
  count: number;
  /** Gets that failed: a well-behaved client should never see one, whatever others do. */
  errors: string[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Every get's time (ms, to the microsecond), so windows can be pooled before taking percentiles. */
  samples: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

async function measure(client: ConfigClient, name: string, durationMs: number): Promise<LatencySummary> {
  const samples: number[] = [];
  const errors: string[] = [];
  const end = performance.now() + durationMs;
  while (performance.now() < end) {
    const start = performance.now();
    try {
      await client.get('probe', { timeoutMs: 5000 });
    } catch (error) {
      errors.push((error as Error).message);
    }
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { name, count: samples.length, errors: errors.slice(0, 5), p50Ms: percentile(samples, 0.5), p99Ms: percentile(samples, 0.99), maxMs: samples.at(-1) ?? Number.NaN, samples: samples.map((ms) => Math.round(ms * 1000) / 1000) };
}

async function main(socketPath: string): Promise<void> {
  const client = connect({ socketPath, name: 'latency-probe' });
  try {
    await client.set('probe', { port: 8080, hosts: ['a', 'b'] });
    process.stdout.write('READY\n');
    for await (const line of createInterface({ input: process.stdin })) {
      const [command, name, ms] = line.trim().split(' ');
      if (command === 'exit') break;
      if (command !== 'measure' || name === undefined || !(Number(ms) > 0)) throw new Error(`unknown command: ${line}`);
      process.stdout.write(JSON.stringify(await measure(client, name, Number(ms))) + '\n');
    }
  } finally {
    client.close();
  }
}

main(process.argv[2]!).catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
