// Single owner under a race: two sidecars started at the same instant on the
// same file, many times over. Exactly one serves each time; the other exits
// non-zero naming the owner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const ROUNDS = Number(process.env.START_RACE_ROUNDS ?? 3);

test(`two sidecars started at once, ${ROUNDS} times: exactly one serves`, async (t) => {
  const paths = await testPaths(t);
  for (let round = 0; round < ROUNDS; round++) {
    const pair = await Promise.all([startSidecar(t, paths, { noWait: true }), startSidecar(t, paths, { noWait: true })]);
    // The loser exits by itself; the winner serves until stopped.
    const outcome = await Promise.race([
      ...pair.map((p, i) => p.exitWithin(15_000).then((code) => ({ loser: i, code }))),
    ]);
    const winner = pair[1 - outcome.loser]!;
    const loser = pair[outcome.loser]!;
    assert.equal(outcome.code, 1, `round ${round}: the loser exits 1; stderr: ${loser.stderr()}`);
    assert.match(loser.stderr(), /already (served by sidecar pid|answers on)|locked by another sidecar/);
    await waitFor(() => winner.stderr().includes('config-sidecar: serving'), 10_000, `round ${round}: the winner serves; stderr: ${winner.stderr()}`);
    assert.equal(await winner.stop(), 0);
  }
});

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
