// Schemas (docs/defects.md, D15, D19): every write is checked against the
// whole document before anything is applied; defaults are a layer readers
// see and the file never holds; old files are migrated at start after a
// backup, as one revision; a file from a newer version is served read-only;
// a hand edit that breaks the schema is refused, never half-applied; a file
// that breaks it at start is served read-only from a backup that matches
// (schema-degrade.test.ts), or refused when there is none.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect, type ConfigClient } from '../../client/index.js';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { writeSchemaModule } from '../helpers/schema-module.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { healthOnceNotOk } from '../helpers/health-wait.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';
import { recorder } from '../helpers/watch-recorder.js';
import { rejection } from '../helpers/rejection.js';

const SERVER_SCHEMA = `
export const schema = z.object({
  server: z.object({
    port: z.number().int().min(1).max(65535).default(PORT_DEFAULT),
    host: z.string().default('localhost'),
  }).prefault({}),
  name: z.string().max(5).optional(),
}).superRefine((config, ctx) => {
  if (config.name === 'root' && config.server.port >= 1024) ctx.addIssue({ code: 'custom', path: ['name'], message: 'root needs a port below 1024' });
});`;

async function serverSchema(paths: TestPaths, portDefault = 8080): Promise<string> {
  return writeSchemaModule(paths.dir, 'server.schema', SERVER_SCHEMA.replace('PORT_DEFAULT', String(portDefault)));
}

function client(t: TestContext, paths: TestPaths): ConfigClient {
  const c = connect({ socketPath: paths.socketPath });
  t.after(() => c.close());
  return c;
}

const stateDir = (paths: TestPaths) => path.join(path.dirname(paths.configPath), '.config.json.sidecar');

test('every write is checked against the whole document: VALIDATION_FAILED lists each issue, nothing is applied', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths, { extraArgs: ['--schema', await serverSchema(paths)] });
  const c = client(t, paths);
  await c.set('name', 'ok', { waitForFile: true });
  const before = await readFile(paths.configPath);
  const { revision } = await c.ping();

  const one = await rejection(c.set('server.port', 0));
  assert.equal(one.code, 'VALIDATION_FAILED');
  assert.deepEqual(one.details?.issues, [{ path: 'server.port', message: 'Too small: expected number to be >=1' }]);
  assert.match(one.message, /server\.port: Too small/);

  const two = await rejection(
    c.batch([
      { op: 'set', path: 'server.port', value: 'eighty' },
      { op: 'set', path: 'name', value: 'far too long' },
    ]),
  );
  assert.deepEqual((two.details?.issues as { path: string }[]).map((issue) => issue.path), ['server.port', 'name']);
  assert.match(two.message, /^2 problems: /);

  // A rule over the whole document: a value valid alone, invalid with the rest.
  const whole = await rejection(c.set('name', 'root'));
  assert.deepEqual(whole.details?.issues, [{ path: 'name', message: 'root needs a port below 1024' }]);
  await c.batch([
    { op: 'set', path: 'server.port', value: 80 },
    { op: 'set', path: 'name', value: 'root' },
  ]);

  // The sidecar's own keys in the file cannot be written by clients.
  assert.equal((await rejection(c.set('$schemaVersion', 9))).code, 'VALIDATION_FAILED');
  assert.equal((await c.ping()).revision, revision + 1, 'only the valid batch became a revision');
  await fileCaughtUp(c);
  assert.notDeepEqual(await readFile(paths.configPath), before);
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { $schema: './config.schema.json', name: 'root', server: { port: 80 } });
});

test('defaults are a layer: seen by get, dump and watches, never written; unset falls back; a new default needs no file change', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--schema', await serverSchema(paths, 8080)] });
  const c = client(t, paths);
  assert.deepEqual(await c.getEntry('server.port').then(({ value, modRevision }) => ({ value, modRevision })), { value: 8080, modRevision: 0 });
  assert.deepEqual(await c.get(''), { server: { port: 8080, host: 'localhost' } });

  const watch = recorder(c.watch('server.port'));
  assert.deepEqual((await watch.next(1))[0]!.changes, [{ path: ['server', 'port'], value: 8080 }]);
  await c.set('server.port', 9000);
  await c.delete('server.port');
  const [, set, unset] = await watch.next(3);
  assert.deepEqual(set!.changes, [{ path: ['server', 'port'], value: 9000 }]);
  assert.deepEqual(unset!.changes, [{ path: ['server', 'port'], value: 8080 }], 'unset shows the default, not a deletion');

  await c.set('name', 'x', { waitForFile: true });
  const onDisk = await readFile(paths.configPath, 'utf8');
  assert.deepEqual(JSON.parse(onDisk), { $schema: './config.schema.json', name: 'x', server: {} }, 'no default was written');
  // Editors get the JSON Schema beside the file.
  const jsonSchema = JSON.parse(await readFile(path.join(path.dirname(paths.configPath), 'config.schema.json'), 'utf8'));
  assert.equal(jsonSchema.properties.server.properties.port.default, 8080);
  assert.ok(jsonSchema.properties.$schemaVersion);

  // A new default in the schema: the file is not touched, readers see the new value.
  c.close();
  await sidecar.stop();
  await startSidecar(t, paths, { extraArgs: ['--schema', await serverSchema(paths, 8081)] });
  const again = client(t, paths);
  assert.equal(await again.get('server.port'), 8081);
  assert.equal(await readFile(paths.configPath, 'utf8'), onDisk);
});

test('a JSON Schema file works as --schema', async (t) => {
  const paths = await testPaths(t);
  const file = path.join(paths.dir, 'schema.json');
  await writeFile(
    file,
    JSON.stringify({ type: 'object', properties: { port: { type: 'integer', minimum: 1, default: 80 } }, additionalProperties: false }),
  );
  await startSidecar(t, paths, { extraArgs: ['--schema', file] });
  const c = client(t, paths);
  assert.equal((await rejection(c.set('port', 0))).code, 'VALIDATION_FAILED');
  assert.equal((await rejection(c.set('other', 1))).code, 'VALIDATION_FAILED');
  await c.set('port', 5);
  assert.equal(await c.get('port'), 5);
});

const MIGRATING_SCHEMA = `
export const schemaVersion = 2;
export const schema = z.strictObject({ server: z.strictObject({ port: z.number().int() }).optional() });
export const migrations = {
  // version 1 kept the port at the top level
  2: (doc) => {
    const { port, ...rest } = doc;
    return port === undefined ? rest : { ...rest, server: { port } };
  },
};`;

test('an old file is migrated at start, after a backup, as one revision', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  const old = '{"port": 9000}\n';
  await writeFile(paths.configPath, old);
  const schema = await writeSchemaModule(paths.dir, 'migrating', MIGRATING_SCHEMA);
  await startSidecar(t, paths, { extraArgs: ['--schema', schema] });
  const c = client(t, paths);
  const entry = await c.getEntry('server.port');
  assert.equal(entry.value, 9000);
  assert.equal(entry.revision, 2, 'the migration is the one revision after the loaded file');
  assert.equal(entry.modRevision, 2);
  await fileCaughtUp(c); // the migration is committed at start and checkpointed to the file behind it
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { $schema: './config.schema.json', $schemaVersion: 2, server: { port: 9000 } });
  const backups = path.join(stateDir(paths), 'backups');
  const kept = await Promise.all((await readdir(backups)).map((name) => readFile(path.join(backups, name), 'utf8')));
  assert.ok(kept.includes(old), 'the pre-migration file is among the backups');
});

test('a failing migration exits with its error and leaves the file untouched', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  const old = '{"port": 9000}\n';
  await writeFile(paths.configPath, old);
  const schema = await writeSchemaModule(
    paths.dir,
    'failing',
    `export const schemaVersion = 3;
export const schema = z.object({});
export const migrations = { 3: () => { throw new Error('cannot convert the port table'); } };`,
  );
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--schema', schema], noWait: true });
  assert.equal(await sidecar.exitWithin(), 1);
  assert.match(sidecar.stderr(), /migration to schema version 3 .* failed: cannot convert the port table; .* was left untouched/);
  assert.equal(await readFile(paths.configPath, 'utf8'), old);
});

test('a file from a newer schema version is served read-only, never downgraded', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  const newer = '{\n  "$schemaVersion": 7,\n  "server": {\n    "port": 1,\n    "tls": true\n  }\n}\n';
  await writeFile(paths.configPath, newer);
  const schema = await writeSchemaModule(paths.dir, 'migrating', MIGRATING_SCHEMA);
  await startSidecar(t, paths, { extraArgs: ['--schema', schema] });
  const c = client(t, paths);
  assert.deepEqual(await c.get('server'), { port: 1, tls: true }, 'served as it is');
  const refused = await rejection(c.set('server.port', 2));
  assert.equal(refused.code, 'READ_ONLY');
  assert.match(refused.message, /schema version 7, newer than 2/);
  const health = await c.health();
  assert.equal(health.status, 'degraded');
  assert.equal(health.readOnly, true);
  assert.equal(await readFile(paths.configPath, 'utf8'), newer);
});

test('a file that does not match the schema, with no backup that does, stops the start with every issue; nothing is touched', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  const text = '{"server": {"port": 0}, "name": "much too long"}\n';
  await writeFile(paths.configPath, text);
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--schema', await serverSchema(paths)], noWait: true });
  assert.equal(await sidecar.exitWithin(), 1);
  assert.match(sidecar.stderr(), /does not match the schema .*server\.port: Too small.*name: Too big.*left untouched/);
  assert.equal(await readFile(paths.configPath, 'utf8'), text);
  assert.deepEqual(await readdir(path.join(stateDir(paths), 'quarantine')).catch(() => []), []);
});

test('a hand edit that breaks the schema is not applied, is kept in quarantine, and degrades health', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths, { extraArgs: ['--schema', await serverSchema(paths)] });
  const c = client(t, paths);
  await c.set('server.port', 80, { waitForFile: true });
  const watch = recorder(c.watch('', { initial: 'none' }));
  await c.ping();
  const edit = '{"server": {"port": 99999}}\n';
  await writeFile(paths.configPath, edit);
  const health = await healthOnceNotOk(c);
  assert.equal(health.status, 'degraded');
  assert.match(health.reasons.join('\n'), /VALIDATION_FAILED.*server\.port/);
  assert.equal(await c.get('server.port'), 80);
  const quarantine = path.join(stateDir(paths), 'quarantine');
  const kept = await readdir(quarantine);
  assert.equal(kept.length, 1);
  assert.equal(await readFile(path.join(quarantine, kept[0]!), 'utf8'), edit);

  await writeFile(paths.configPath, '{"server": {"port": 81}}\n');
  const [healed] = await watch.next(1);
  assert.equal(healed!.source, 'file');
  assert.equal(watch.events.length, 1, 'the rejected edit made no event');
  assert.equal((await c.health()).status, 'ok');
});

test('no migration runs without a backup: if none can be kept, the start stops and the file is untouched', async (t) => {
  const paths = await testPaths(t);
  await mkdir(stateDir(paths), { recursive: true });
  // A file where the backups directory should be: no backup can be written.
  await writeFile(path.join(stateDir(paths), 'backups'), 'not a directory');
  const old = '{"port": 9000}\n';
  await writeFile(paths.configPath, old);
  const schema = await writeSchemaModule(paths.dir, 'migrating', MIGRATING_SCHEMA);
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--schema', schema], noWait: true });
  assert.equal(await sidecar.exitWithin(), 1);
  assert.match(sidecar.stderr(), /cannot keep a backup of .*config\.json before migrating it: .*nothing was changed/);
  assert.equal(await readFile(paths.configPath, 'utf8'), old);
});

test('restore under a schema: the sidecar\'s own keys are left out; a backup from another schema version is refused', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  await writeFile(paths.configPath, '{"port": 9000}\n'); // version 0: migrated at start, after a backup
  const schema = await writeSchemaModule(paths.dir, 'migrating', MIGRATING_SCHEMA);
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--schema', schema] });
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);

  const old = await cli('restore', '1');
  assert.equal(old.code, 1);
  assert.match(old.stderr, /is at schema version 0, the sidecar serves version 2: .*migrated at start/);

  // A clean restart keeps a backup of the migrated file (version 2); change the value, then bring it back.
  await sidecar.stop();
  await startSidecar(t, paths, { extraArgs: ['--schema', schema] });
  assert.equal((await cli('set', 'server.port', '1')).code, 0);
  const restored = await cli('restore', '1');
  assert.equal(restored.code, 0, restored.stderr);
  assert.equal((await cli('get', 'server.port')).stdout.trim(), '9000');
  await fileCaughtUp(client(t, paths));
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { $schema: './config.schema.json', $schemaVersion: 2, server: { port: 9000 } });
});
