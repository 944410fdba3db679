// A client given a schema checks each write against the value's schema
// before sending it: against a sidecar with no schema at all, a wrong value
// still fails at the call, and nothing reaches the file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';
import { existingDirectory } from '../../validators/index.js';

const schema = z.object({
  server: z.object({ port: z.number().int().min(1).max(65535), host: z.string() }).partial(),
  dirs: z.array(existingDirectory()).max(2).optional(),
});

async function rejection(promise: Promise<unknown>): Promise<ConfigSidecarError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigSidecarError, String(error));
    return error;
  }
  assert.fail('expected a rejection');
}

test('a typed client refuses a wrong value before sending it', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths); // no schema: the sidecar would take anything
  const client = connect({ socketPath: paths.socketPath, schema });
  t.after(() => client.close());

  const port = await rejection(client.set('server.port', 0));
  assert.equal(port.code, 'VALIDATION_FAILED');
  assert.deepEqual(port.details?.issues, [{ path: 'server.port', message: 'Too small: expected number to be >=1' }]);
  assert.match(port.message, /nothing was sent/);

  // Checked from the path down: a whole object, an array element, an asynchronous validator.
  const object = await rejection(client.set('server', { port: 'x' } as never));
  assert.deepEqual((object.details?.issues as { path: string }[]).map((issue) => issue.path), ['server.port']);
  const element = await rejection(client.set('dirs.0', 'relative/dir'));
  assert.match(element.message, /dirs\.0: "relative\/dir" is not an absolute path/);
  const batch = await rejection(
    client.batch([
      { op: 'set', path: 'server.host', value: 'fine' },
      { op: 'set', path: 'dirs', value: ['/', '/', '/'] },
    ]),
  );
  assert.equal(batch.code, 'VALIDATION_FAILED');

  assert.deepEqual(await client.get(''), {}, 'none of the refused writes reached the sidecar');
  await client.batch([
    { op: 'set', path: 'server.port', value: 8080 },
    { op: 'set', path: 'dirs', value: ['/tmp/../tmp'] },
  ]);
  assert.deepEqual(await client.get(''), { server: { port: 8080 }, dirs: ['/tmp/../tmp'] }, 'valid writes are sent as written');
});
