// SIGTERM: stop accepting, finish the flush in progress, answer what is
// pending, remove the socket and the lock, exit 0. Writes acknowledged are on
// disk; none is acknowledged and then lost.
import assert from 'node:assert/strict';
import { access, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('SIGTERM drains writes, exits 0, removes socket and lock', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath, reconnect: { maxMs: 50 } });
  t.after(() => client.close());
  await client.ready();

  const acked: number[] = [];
  const writes = Array.from({ length: 200 }, (_, i) =>
    client.set(`k${i}`, i, { timeoutMs: 2000 }).then(
      () => acked.push(i),
      (error: unknown) => assert.ok(error instanceof ConfigSidecarError, String(error)),
    ),
  );
  // Stop once the first write is acknowledged: the rest are then queued or in flight.
  await writes[0];
  const exit = sidecar.stop();
  await Promise.all(writes);
  assert.equal(await exit, 0);
  assert.ok(acked.length > 0);

  const onDisk = JSON.parse(await readFile(paths.configPath, 'utf8')) as Record<string, number>;
  for (const i of acked) assert.equal(onDisk[`k${i}`], i, `acknowledged write k${i} is on disk`);
  await assert.rejects(access(paths.socketPath), /ENOENT/);
  const state = await readdir(path.join(path.dirname(paths.configPath), '.config.json.sidecar'));
  assert.ok(!state.includes('lock'), `lock removed (state dir holds ${state.join(', ')})`);
});
