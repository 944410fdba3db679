// A client given a schema, against real sidecars: each write is checked
// against the value's schema before it is sent; the sidecar must serve the
// same schema (a hash in its hello), else calls fail SCHEMA_MISMATCH; and
// what test/types/typed-client.ts proves at compile time holds at run time:
// writes take the schema's input type (defaults may be left out), batch
// values are checked, a missing path reads as undefined (getEntry: NOT_FOUND),
// segment-array paths reach keys holding dots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { runNode } from '../helpers/run-process.js';
import { writeSchemaModule } from '../helpers/schema-module.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';
import { rejection } from '../helpers/rejection.js';

const SCHEMA_BODY = `export const schema = z.object({
  server: z.object({ port: z.number().int().min(1).max(65535), host: z.string().default('localhost') }).optional(),
  dirs: z.array(v.existingDirectory()).max(2).optional(),
  shell: z.string().optional(),
  plugins: z.record(z.string(), z.object({ enabled: z.boolean() })).optional(),
});`;

/** A sidecar serving the schema module, and that module's schema for the client (the same object definition). */
async function withSchema(t: import('node:test').TestContext, body = SCHEMA_BODY) {
  const paths = await testPaths(t);
  const file = await writeSchemaModule(paths.dir, 'schema', body);
  const { schema } = (await import(pathToFileURL(file).href)) as { schema: z.ZodObject };
  await startSidecar(t, paths, { extraArgs: ['--schema', file] });
  return { paths, schema };
}

test('a typed client refuses a wrong value before sending it', async (t) => {
  const { paths, schema } = await withSchema(t);
  const client = connect({ socketPath: paths.socketPath, schema });
  t.after(() => client.close());

  const port = await rejection(client.set('server.port', 0));
  assert.equal(port.code, 'VALIDATION_FAILED');
  assert.deepEqual(port.details?.issues, [{ path: 'server.port', message: 'Too small: expected number to be >=1' }]);
  assert.match(port.message, /nothing was sent/);

  // Checked from the path down: a whole object, an array element, an asynchronous validator, a batch value.
  const object = await rejection(client.set('server', { port: 'x' } as never));
  assert.deepEqual((object.details?.issues as { path: string }[]).map((issue) => issue.path), ['server.port']);
  const element = await rejection(client.set('dirs.0', 'relative/dir'));
  assert.match(element.message, /dirs\.0: "relative\/dir" is not an absolute path/);
  const batch = await rejection(client.batch([{ op: 'set', path: 'server.port', value: 'x' as never }]));
  assert.equal(batch.code, 'VALIDATION_FAILED');
  assert.match(batch.message, /nothing was sent/);

  assert.deepEqual(await client.get(''), {}, 'none of the refused writes reached the sidecar');
  await client.batch([
    { op: 'set', path: 'server.port', value: 8080 },
    { op: 'set', path: 'dirs', value: ['/tmp/../tmp'] },
  ]);
  assert.deepEqual(await client.get('dirs'), ['/tmp'], 'valid writes are taken (readers see the validator\'s normalised path)');
});

test('types match run time: input-typed writes, missing paths, defaults, segment arrays', async (t) => {
  const { paths, schema } = await withSchema(t);
  const client = connect({ socketPath: paths.socketPath, schema });
  t.after(() => client.close());

  // The schema's input type: host has a default, so it may be left out, and the sidecar fills it in.
  await client.set('server', { port: 1 });
  assert.deepEqual(await client.get('server'), { port: 1, host: 'localhost' });

  // A missing path is undefined (as conf and Map answer), with or without a default; getEntry still says NOT_FOUND.
  assert.equal(await client.get('shell'), undefined);
  assert.equal(await client.get('shell', { default: '/bin/sh' }), '/bin/sh');
  assert.equal(await client.has('shell'), false);
  assert.equal(await client.has('server.port'), true);
  assert.equal((await rejection(client.getEntry('shell'))).code, 'NOT_FOUND');
  const untyped = connect({ socketPath: paths.socketPath });
  t.after(() => untyped.close());
  assert.equal(await untyped.get('no.such.path'), undefined);

  // Segment arrays reach keys that hold dots.
  await client.set(['plugins', 'a.b'], { enabled: true });
  assert.equal(await client.get(['plugins', 'a.b', 'enabled']), true);
  assert.deepEqual(await untyped.get('plugins'), { 'a.b': { enabled: true } });
});

test('a client given a schema refuses a sidecar serving another schema, or none: SCHEMA_MISMATCH', async (t) => {
  const { paths } = await withSchema(t);
  const other = z.object({ server: z.object({ port: z.string() }) });
  const mismatched = connect({ socketPath: paths.socketPath, schema: other });
  t.after(() => mismatched.close());
  const error = await rejection(mismatched.get('server'));
  assert.equal(error.code, 'SCHEMA_MISMATCH');
  assert.match(error.message, /different schema/);

  const bare = await testPaths(t);
  await startSidecar(t, bare); // no schema
  const typed = connect({ socketPath: bare.socketPath, schema: other });
  t.after(() => typed.close());
  const none = await rejection(typed.set('server.port', 'x'));
  assert.equal(none.code, 'SCHEMA_MISMATCH');
  assert.match(none.message, /serves no schema/);
  const untyped = connect({ socketPath: bare.socketPath });
  t.after(() => untyped.close());
  assert.deepEqual(await untyped.get(''), {}, 'nothing was sent');
});

test('with a schema, writes still go out in the order they were made: of writes not awaited, the last one made wins', async (t) => {
  const { paths, schema } = await withSchema(t);
  const client = connect({ socketPath: paths.socketPath, schema });
  t.after(() => client.close());
  for (let round = 1; round <= 20; round++) {
    // The batch's values take more checks than the set after it: neither may overtake the other.
    const calls = [
      client.batch([
        { op: 'set', path: 'server.port', value: 1000 + round },
        { op: 'set', path: 'shell', value: 'batch' },
        { op: 'set', path: 'plugins', value: { a: { enabled: true } } },
      ]),
      client.set('server.port', round),
      // A write the local check refuses does not hold up or reorder the calls behind it.
      client.set('server.port', 0).catch((error: unknown) => (error as ConfigSidecarError).code),
      client.set('shell', `set ${round}`),
    ];
    const results = await Promise.all(calls);
    assert.equal(results[2], 'VALIDATION_FAILED');
    assert.equal(await client.get('server.port'), round, `round ${round}`);
    assert.equal(await client.get('shell'), `set ${round}`);
  }
});

test('a value JSON cannot write (a BigInt), set right after connecting, is refused by the local check like any wrong value', async (t) => {
  const { paths, schema } = await withSchema(t);
  const client = connect({ socketPath: paths.socketPath, schema });
  t.after(() => client.close());
  // Before the codec is loaded the queue measures a call by its JSON, which has no BigInt.
  const refused = await rejection(client.set('server.port', 10n as never));
  assert.equal(refused.code, 'VALIDATION_FAILED');
  assert.match(refused.message, /nothing was sent/);
});

test('a typed client whose schema loads slowly sends nothing (reads and deletes included) before it knows the sidecar serves the same schema', async (t) => {
  const { paths } = await withSchema(t);
  const plain = connect({ socketPath: paths.socketPath });
  t.after(() => plain.close());
  await plain.set('shell', '/bin/sh');
  // Its own process: the schema module's load is held back 300 ms there, while the link is up in a few.
  const worker = fileURLToPath(new URL('../helpers/slow-schema-worker.js', import.meta.url));
  const result = await runNode(worker, [paths.socketPath, '300']);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { get: { error: 'SCHEMA_MISMATCH' }, delete: { error: 'SCHEMA_MISMATCH' } });
  assert.equal(await plain.get('shell'), '/bin/sh', 'the delete never reached the sidecar');
});

/** The schema above with a note whose check takes 2 s for the value "slow" (an asynchronous refinement). */
const SLOW_CHECK_BODY = `export const schema = z.object({
  note: z.string().refine(async (value) => {
    if (value === 'slow') await new Promise((resolve) => setTimeout(resolve, 2000));
    return true;
  }).optional(),
});`;

test('with a schema, a write held by a slow local check keeps later calls behind it, but each keeps its own deadline and signal, and close ends them at once', async (t) => {
  const { paths, schema } = await withSchema(t, SLOW_CHECK_BODY);
  const client = connect({ socketPath: paths.socketPath, schema });
  t.after(() => client.close());
  await client.ready();
  const started = Date.now();
  const slow = client.set('note', 'slow');
  const timedOut = await rejection(client.get('note', { timeoutMs: 200 }));
  assert.equal(timedOut.code, 'TIMEOUT');
  assert.match(timedOut.message, /get timed out after 200 ms/);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  assert.equal((await rejection(client.get('note', { signal: controller.signal }))).code, 'ABORTED');
  const waiting = client.get('note');
  client.close();
  assert.equal((await rejection(waiting)).code, 'CLOSED');
  assert.equal((await rejection(slow)).code, 'CLOSED');
  assert.ok(Date.now() - started < 1500, `none of them waited for the slow check (${Date.now() - started} ms)`);
});
