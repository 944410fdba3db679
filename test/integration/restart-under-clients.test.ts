// Sidecar restarted under connected client processes: they reconnect by
// themselves; every call made meanwhile completes or fails with a documented
// code, and none hangs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { CLIENT_WORKER } from '../helpers/paths.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const DOCUMENTED = new Set(['ok', 'OUTCOME_UNKNOWN', 'UNAVAILABLE', 'TIMEOUT', 'SHUTTING_DOWN']);

for (const how of ['SIGTERM', 'SIGKILL'] as const) {
  test(`clients ride through a sidecar restart (${how})`, async (t) => {
    const paths = await testPaths(t);
    let sidecar = await startSidecar(t, paths);
    const clients = Array.from({ length: 3 }, () => {
      const child = spawn(process.execPath, [CLIENT_WORKER, 'calls-through-restart', paths.socketPath, '2500'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const ready = new Promise<void>((resolve) => {
        const check = () => (stdout.includes('READY') ? resolve() : undefined);
        child.stdout.on('data', check);
      });
      const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
        child.once('close', (code) => resolve({ code, stdout, stderr })),
      );
      t.after(() => child.kill('SIGKILL'));
      return { ready, done };
    });
    await Promise.all(clients.map((c) => c.ready));

    if (how === 'SIGTERM') assert.equal(await sidecar.stop(), 0);
    else await sidecar.kill9();
    sidecar = await startSidecar(t, paths);

    for (const client of clients) {
      const result = await client.done;
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout.split('\n').find((line) => line.startsWith('{'))!) as {
        started: number;
        settled: number;
        outcomes: Record<string, number>;
        connects: number;
        after: string;
      };
      assert.equal(summary.settled, summary.started, 'every call settled');
      for (const code of Object.keys(summary.outcomes)) assert.ok(DOCUMENTED.has(code), `undocumented outcome ${code}`);
      assert.ok(summary.connects >= 2, `reconnected (${summary.connects} connects)`);
      assert.equal(summary.after, 'ok');
    }
  });
}
