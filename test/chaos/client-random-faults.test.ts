// Random sequences of calls against a scripted sidecar that answers, stalls,
// answers malformed, cuts connections (also mid-frame) and restarts: every
// call settles, once, with a value or a documented code, and nothing reaches
// the host process as an exception. The seed is printed;
// CLIENT_FAULTS_SEED=<seed> replays it, CLIENT_FAULTS_ROUNDS sets the rounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { encodeFrame } from '../../protocol/index.js';
import { ScriptedSidecar, usualAnswer, type ScriptedConnection } from '../helpers/scripted-sidecar.js';
import { seededRandom } from '../helpers/seeded-random.js';
import { testPaths } from '../helpers/temp-dir.js';

const seed = Number(process.env.CLIENT_FAULTS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const rounds = Number(process.env.CLIENT_FAULTS_ROUNDS ?? 2);
const ALLOWED = new Set(['TIMEOUT', 'UNAVAILABLE', 'OUTCOME_UNKNOWN', 'PROTOCOL', 'CLOSED', 'QUEUE_FULL']);

test(`random calls, faults and restarts: every call settles once with a value or a documented code (seed ${seed})`, async (t) => {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  for (let round = 0; round < rounds; round++) {
    const paths = await testPaths(t);
    let fake = await ScriptedSidecar.start(t, paths.socketPath);
    const behave = (request: Record<string, unknown>, connection: ScriptedConnection) => {
      switch (pick(['answer', 'answer', 'answer', 'hold', 'malformed', 'cut', 'half'] as const)) {
        case 'answer':
          return usualAnswer(request, connection);
        case 'hold':
          return 'hold';
        case 'malformed':
          return { id: request.id, ok: true, surprise: [1] };
        case 'cut':
          connection.destroy();
          return 'hold';
        case 'half':
          connection.sendBytes(encodeFrame(Buffer.from([0x81, 0xa2, 0x69, 0x64, 0x01])).subarray(0, 6));
          connection.destroy();
          return 'hold';
      }
    };
    fake.answer = behave;
    const client = connect({ socketPath: paths.socketPath, defaultTimeoutMs: 400, heartbeatMs: 200, reconnect: { baseMs: 2, maxMs: 20 } });
    const settled: Promise<string>[] = [];
    const track = (call: Promise<unknown>) => {
      settled.push(
        call.then(
          () => 'ok',
          (error: unknown) => {
            assert.ok(error instanceof ConfigSidecarError, `not a ConfigSidecarError: ${String(error)}`);
            assert.ok(ALLOWED.has(error.code), `undocumented ${error.code}: ${error.message}`);
            return error.code;
          },
        ),
      );
    };
    const watch = client.watch('a', () => undefined, { timeoutMs: 300, onError: () => undefined });
    for (let step = 0; step < 30; step++) {
      const action = pick(['get', 'get', 'set', 'ping', 'batch', 'drop', 'restart', 'wait'] as const);
      if (action === 'get') track(client.get('a'));
      else if (action === 'set') track(client.set('a', step));
      else if (action === 'ping') track(client.ping());
      else if (action === 'batch') track(client.batch([{ op: 'set', path: 'b', value: step }]));
      else if (action === 'drop') fake.connections.at(-1)?.destroy();
      else if (action === 'restart') {
        await fake.stop();
        fake = await ScriptedSidecar.start(t, paths.socketPath);
        fake.answer = behave;
      } else await new Promise((resolve) => setTimeout(resolve, 1 + random() * 30));
    }
    const outcomes = await Promise.race([
      Promise.all(settled),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`calls still pending after 10 s (seed ${seed}, round ${round})`)), 10_000)),
    ]);
    watch.close();
    await client.close();
    await fake.stop();
    t.diagnostic(`round ${round}: ${outcomes.join(' ')}`);
  }
});
