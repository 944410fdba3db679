// Restart after kill -9: the lock and socket a SIGKILLed sidecar leaves
// behind are reclaimed at once (proper-lockfile alone would wait for its
// 10 s stale window). Each round kills the serving sidecar and times a new
// one from spawn to "serving"; the baseline is the same start on a fresh
// directory with nothing to reclaim, in the same run.
import path from 'node:path';
import { connect } from '../client/index.js';
import { makeTempDir, removeTempDir, startSidecar } from './bench-processes.js';
import { LatencyHistogram } from './latency-histogram.js';
import { markdownTable, ms, ratio, type WorkloadReport } from './workload-report.js';

export interface RestartOptions {
  rounds: number;
  /** Keys in the config, so each start loads a realistic file. */
  keys: number;
}

export async function runRestartAfterKill(options: RestartOptions): Promise<WorkloadReport> {
  const fresh = new LatencyHistogram();
  const afterKill = new LatencyHistogram();
  const dir = await makeTempDir();
  try {
    const configPath = path.join(dir, 'conf', 'config.json');
    const socketPath = path.join(dir, 'sidecar.sock');
    let sidecar = await startSidecar(configPath, socketPath);
    const client = connect({ socketPath });
    await client.set('bench', Object.fromEntries(Array.from({ length: options.keys }, (_, i) => [`k${i}`, { value: i, label: `key number ${i}` }])));
    client.close();
    for (let round = 0; round < options.rounds; round++) {
      await sidecar.kill9();
      const t0 = performance.now();
      sidecar = await startSidecar(configPath, socketPath);
      afterKill.record(performance.now() - t0);

      const freshDir = await makeTempDir();
      const t1 = performance.now();
      const baseline = await startSidecar(path.join(freshDir, 'conf', 'config.json'), path.join(freshDir, 's.sock'));
      fresh.record(performance.now() - t1);
      await baseline.stop();
      await removeTempDir(freshDir);
    }
    await sidecar.stop();
  } finally {
    await removeTempDir(dir);
  }
  const killed = afterKill.summary();
  const clean = fresh.summary();
  return {
    key: 'restartAfterKill',
    title: '5. Restart after kill -9',
    data: { options, afterKill: killed, fresh: clean },
    markdown: [
      `${options.rounds} rounds: the serving sidecar (config of ${options.keys.toLocaleString('en-US')} keys) is SIGKILLed and a new one started at once, ` +
        'timed from spawn to its "serving" line; the baseline starts a sidecar in a fresh directory (nothing to reclaim) in the same round.',
      '',
      markdownTable(
        ['start', 'p50 ms', 'max ms', 'vs fresh start (p50)'],
        [
          ['after kill -9 (stale lock + socket reclaimed)', ms(killed.p50Ms), ms(killed.maxMs), `${ratio(killed.p50Ms, clean.p50Ms).toFixed(2)}×`],
          ['fresh directory (baseline)', ms(clean.p50Ms), ms(clean.maxMs), '1×'],
        ],
      ),
    ].join('\n'),
    goals: [{ goal: 'serving again after kill -9 within 2 s (every round)', measured: `max ${ms(killed.maxMs)} ms (p50 ${ms(killed.p50Ms)})`, pass: killed.maxMs < 2000 }],
  };
}
