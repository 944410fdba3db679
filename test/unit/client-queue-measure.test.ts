// What the client's queue measures a call by, with no sidecar to send it to:
// a value with a BigInt (which JSON cannot write, though the codec can) still
// counts its size against maxQueuedBytes, and a value that can never be
// encoded (a cycle) fails at once with BAD_REQUEST instead of waiting. And
// the deadlines every call inherits are checked when the client is made.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { testPaths } from '../helpers/temp-dir.js';
import { rejection } from '../helpers/rejection.js';

test('a value holding a BigInt counts its size against the queue bound; a cyclic one is refused at once', async (t) => {
  const paths = await testPaths(t);
  // Nothing listens there: every call waits in the queue.
  const client = connect({ socketPath: paths.socketPath, maxQueuedBytes: 4000, defaultTimeoutMs: 10_000 });
  t.after(() => client.close());
  const big = (n: bigint) => ({ n, text: 'x'.repeat(3000) });
  const first = client.set('a', big(1n)).catch((error: unknown) => error);
  const second = await rejection(client.set('b', big(2n)));
  assert.equal(second.code, 'QUEUE_FULL');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const refused = await rejection(client.set('c', cyclic));
  assert.equal(refused.code, 'BAD_REQUEST');
  assert.match(refused.message, /cannot be encoded .*circular.*; nothing was sent/);
  client.close();
  assert.equal(((await first) as ConfigSidecarError).code, 'CLOSED');
});

test('deadline options every call inherits are refused at connect(), naming the option', () => {
  assert.throws(() => connect({ socketPath: '/nowhere/s.sock', heartbeatMs: '300' as unknown as number }), /heartbeatMs must be a number of milliseconds > 0, got string 300/);
  assert.throws(() => connect({ socketPath: '/nowhere/s.sock', defaultTimeoutMs: Number.NaN }), /defaultTimeoutMs must be a number of milliseconds > 0, got number NaN/);
});
