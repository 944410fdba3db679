// One socket path, one sidecar: ten sidecars for ten different files (so no
// ownership lock keeps them apart) started at the same instant on one socket
// path, round after round. Exactly one serves; the others exit naming the
// socket; the winner's socket answers as the winner and is gone after it stops.
import assert from 'node:assert/strict';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { startSidecar, type SidecarProcess } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const ROUNDS = Number(process.env.SOCKET_RACE_ROUNDS ?? 1);
const STARTERS = 10;

/** 'serving' once the process prints its serving line, else its exit code; within the bound. */
function outcomeOf(proc: SidecarProcess, timeoutMs = 30_000): Promise<'serving' | number | string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no outcome within ${timeoutMs} ms: ${proc.stderr()}`)), timeoutMs);
    const check = () => {
      if (!proc.stderr().includes('config-sidecar: serving')) return;
      clearTimeout(timer);
      resolve('serving');
    };
    proc.child.stderr!.on('data', check);
    void proc.exited.then((code) => {
      clearTimeout(timer);
      resolve(code);
    });
    check();
  });
}

test(`${STARTERS} sidecars for ${STARTERS} files started at once on one socket path, ${ROUNDS} times: exactly one serves it`, async (t) => {
  const paths = await testPaths(t);
  for (let round = 0; round < ROUNDS; round++) {
    const configOf = (i: number) => path.join(paths.dir, `r${round}-${i}`, 'config.json');
    const starts = await Promise.all(Array.from({ length: STARTERS }, (_, i) => startSidecar(t, { ...paths, configPath: configOf(i) }, { noWait: true })));
    const outcomes = await Promise.all(starts.map((proc) => outcomeOf(proc)));
    const serving = outcomes.flatMap((outcome, i) => (outcome === 'serving' ? [i] : []));
    assert.equal(serving.length, 1, `round ${round}: exactly one serves: ${JSON.stringify(outcomes)}`);
    const winner = serving[0]!;
    starts.forEach((proc, i) => {
      if (i === winner) return;
      assert.equal(outcomes[i], 1, `round ${round}: starter ${i} exits 1; stderr: ${proc.stderr()}`);
      assert.match(proc.stderr(), /another sidecar already answers on .*s\.sock/);
    });
    const client = connect({ socketPath: paths.socketPath });
    try {
      const info = (await client.info({ timeoutMs: 15_000 })) as { sidecar: { configPath: string } };
      assert.equal(info.sidecar.configPath, configOf(winner), `round ${round}: the socket is the winner's`);
    } finally {
      client.close();
    }
    assert.equal(await starts[winner]!.stop(), 0);
    await assert.rejects(lstat(paths.socketPath), /ENOENT/, `round ${round}: the winner removed its socket`);
  }
});
