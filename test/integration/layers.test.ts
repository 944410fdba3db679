// A sidecar serving layers, as a real process on a real etcd: a put under the
// fleet prefix reaches a watching client with source "fleet", a delete removes
// it; a hand edit of the system file arrives with source "system" and wins over
// the fleet; the user file wins over both except at a locked path, where writes
// get LOCKED and a value set by hand is ignored and named in health; getEntry
// says which layer a value comes from; the user file keeps only what was set in it.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { etcdSkipReason, startEtcd } from '../helpers/etcd-server.js';
import { etcdWriter } from '../helpers/fleet-harness.js';
import { healthOnceNotOk } from '../helpers/health-wait.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';
import { recorder } from '../helpers/watch-recorder.js';
import { writeSchemaModule } from '../helpers/schema-module.js';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';

const skip = await etcdSkipReason();
const PREFIX = '/apps/layers/';

test('fleet < system < user, locks, sources and layers through a real sidecar', { skip }, async (t) => {
  const etcd = await startEtcd(t);
  const paths = await testPaths(t);
  const admin = path.join(paths.dir, 'etc');
  await mkdir(admin);
  const systemFile = path.join(admin, 'system.json');
  const locksFile = path.join(admin, 'locks.json');
  await writeFile(systemFile, '{"log": {"level": "warn"}}\n');
  await writeFile(locksFile, '["server.port"]\n');
  const kv = await etcdWriter(t, etcd.endpoint);
  await kv.put(`${PREFIX}server/host`).value('"fleet.example"').exec();

  await startSidecar(t, paths, { extraArgs: ['--fleet', `etcd://${etcd.endpoint}${PREFIX}`, '--system-file', systemFile, '--locks', locksFile] });
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  // The first read of the prefix is a revision of its own (source fleet) once etcd answers.
  const deadline = Date.now() + 10_000;
  while ((await client.get('server.host')) !== 'fleet.example') {
    assert.ok(Date.now() < deadline, 'the fleet layer was never served');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.deepEqual(await client.get(''), { server: { host: 'fleet.example' }, log: { level: 'warn' } });
  assert.equal((await client.getEntry('log.level')).layer, 'system');
  assert.equal((await client.getEntry('server.host')).layer, 'fleet');

  const watch = recorder(client.watch('', { initial: 'none' }));
  await client.ping();

  // A fleet put reaches the watcher; a delete removes it.
  await kv.put(`${PREFIX}server/port`).value('8080').exec();
  const [put] = await watch.next(1, 10_000);
  assert.equal(put!.source, 'fleet');
  assert.deepEqual(put!.changes, [{ path: ['server', 'port'], value: 8080 }]);
  assert.equal((await client.getEntry('server.port')).layer, 'fleet');
  await kv.delete().key(`${PREFIX}server/host`).exec();
  const [, removed] = await watch.next(2, 10_000);
  assert.equal(removed!.source, 'fleet');
  assert.deepEqual(removed!.changes, [{ path: ['server', 'host'], deleted: true }]);

  // The system file, edited by hand, sits above the fleet.
  await writeFile(systemFile, '{"log": {"level": "warn"}, "server": {"port": 9090}}\n');
  const [, , system] = await watch.next(3, 10_000);
  assert.equal(system!.source, 'system');
  assert.deepEqual(system!.changes, [{ path: ['server', 'port'], value: 9090 }]);
  assert.equal((await client.getEntry('server.port')).layer, 'system');

  // The user file above both; a locked path is refused, naming the layer its value comes from.
  await client.set('log.level', 'debug', { waitForFile: true });
  assert.equal((await client.getEntry('log.level')).layer, 'user');
  const refused = await client.set('server.port', 1).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(refused instanceof ConfigSidecarError, `expected LOCKED, got ${String(refused)}`);
  assert.equal(refused.code, 'LOCKED');
  assert.match(refused.message, /server\.port is locked.*system layer/);
  await assert.rejects(client.set('server', { port: 2 }), (error: ConfigSidecarError) => error.code === 'LOCKED');
  assert.equal(await client.get('server.port'), 9090);

  // The file keeps only what was set in it.
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { log: { level: 'debug' } });

  // A locked value set by hand in the user file is ignored, and health names it.
  await writeFile(paths.configPath, '{"log": {"level": "debug"}, "server": {"port": 7}}\n');
  const health = await healthOnceNotOk(client);
  assert.equal(health.status, 'degraded');
  assert.match(health.reasons.join('\n'), /sets server\.port, which is locked/);
  assert.equal(await client.get('server.port'), 9090);

  // dump --layers shows each layer; fleet status says it is connected.
  const dump = await runNode(CLI, ['dump', '--layers', '--json', '--socket', paths.socketPath]);
  const layers = JSON.parse(dump.stdout) as Record<string, unknown>;
  assert.deepEqual(layers.fleet, { server: { port: 8080 } });
  assert.deepEqual(layers.system, { log: { level: 'warn' }, server: { port: 9090 } });
  assert.deepEqual(layers.locks, ['server.port']);
  assert.deepEqual(layers.served, { log: { level: 'debug' }, server: { port: 9090 } });
  const status = await runNode(CLI, ['fleet', 'status', '--socket', paths.socketPath]);
  assert.equal(status.code, 0, status.stderr);
  const fleet = JSON.parse(status.stdout) as { connected: boolean; revision: number; lag: number };
  assert.equal(fleet.connected, true);
  assert.ok(fleet.revision > 0);
});

test('a fleet value the schema refuses is not applied; a sidecar started while etcd is down serves the stored fleet state', { skip }, async (t) => {
  const etcd = await startEtcd(t);
  const paths = await testPaths(t);
  const schema = await writeSchemaModule(
    paths.dir,
    'schema',
    'export const schema = z.object({ server: z.object({ port: z.number().int().default(80), host: z.string().default("localhost") }).prefault({}) }).passthrough();',
  );
  const kv = await etcdWriter(t, etcd.endpoint);
  const args = ['--schema', schema, '--fleet', `etcd://${etcd.endpoint}${PREFIX}`];
  const first = await startSidecar(t, paths, { extraArgs: args });
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  const watch = recorder(client.watch('server', { initial: 'none' }));
  await client.ping();

  // Schema defaults are the lowest layer: the fleet overrides them.
  assert.deepEqual(await client.get('server'), { port: 80, host: 'localhost' });
  assert.equal((await client.getEntry('server.port')).layer, 'default');
  await kv.put(`${PREFIX}server/port`).value('8080').exec();
  const [put] = await watch.next(1, 10_000);
  assert.deepEqual(put!.changes, [{ path: ['server', 'port'], value: 8080 }]);
  assert.equal((await client.getEntry('server.port')).layer, 'fleet');

  // A value the schema refuses: not applied, health degraded naming the fleet layer, the last valid state served.
  await kv.put(`${PREFIX}server/port`).value('"eighty"').exec();
  const health = await healthOnceNotOk(client, 10_000);
  assert.equal(health.status, 'degraded');
  assert.match(health.reasons.join('\n'), /fleet layer's change \(etcd revision \d+\) is not applied/);
  assert.equal(await client.get('server.port'), 8080);
  await kv.put(`${PREFIX}server/port`).value('8081').exec();
  const [, fixed] = await watch.next(2, 10_000);
  assert.deepEqual(fixed!.changes, [{ path: ['server', 'port'], value: 8081 }]);
  assert.equal((await client.health()).status, 'ok');

  // Stopped, etcd down, started again: the stored fleet state is served at once, health says how old it is,
  // and local writes go through without etcd.
  await first.stop();
  await etcd.kill();
  const second = await startSidecar(t, paths, { extraArgs: args });
  const again = connect({ socketPath: paths.socketPath });
  t.after(() => again.close());
  assert.equal(await again.get('server.port'), 8081);
  const down = await again.health();
  assert.equal(down.status, 'degraded');
  assert.match(down.reasons.join('\n'), /fleet: etcd not connected.*serving the fleet state of etcd revision \d+ \(stored, \d+ s old\)/);
  await again.set('server.host', 'local');
  assert.deepEqual(await again.get('server'), { port: 8081, host: 'local' });
  const status = await runNode(CLI, ['fleet', 'status', '--socket', paths.socketPath]);
  assert.equal(status.code, 1, 'fleet status exits 1 while etcd is out of reach');
  assert.equal((JSON.parse(status.stdout) as { connected: boolean; from: string }).connected, false);

  // A stop while etcd is out of reach does not wait for it; the next start serves the same state.
  second.child.kill('SIGTERM');
  assert.equal(await second.exitWithin(10_000), 0);
  await startSidecar(t, paths, { extraArgs: args });
  assert.deepEqual(await again.get('server', { timeoutMs: 10_000 }), { port: 8081, host: 'local' });

  // etcd back: the sidecar catches up with what changed meanwhile... nothing here, so health turns ok.
  await etcd.start();
  const deadline = Date.now() + 15_000;
  while ((await again.health()).status !== 'ok') {
    assert.ok(Date.now() < deadline, `health not ok after etcd came back: ${(await again.health()).reasons.join('; ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

test('fleet revisions etcd compacted while the sidecar was stopped arrive as one "fleet" revision', { skip }, async (t) => {
  const etcd = await startEtcd(t);
  const paths = await testPaths(t);
  const kv = await etcdWriter(t, etcd.endpoint);
  await kv.put(`${PREFIX}a`).value('1').exec();
  await kv.put(`${PREFIX}b`).value('2').exec();
  const args = ['--fleet', `etcd://${etcd.endpoint}${PREFIX}`];
  const first = await startSidecar(t, paths, { extraArgs: args });
  const client = connect({ socketPath: paths.socketPath });
  const deadline = Date.now() + 10_000;
  while ((await client.get('b', { default: undefined })) !== 2) {
    assert.ok(Date.now() < deadline, 'the fleet layer was never served');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { revision } = await client.ping();
  await client.close();
  await first.stop();

  await kv.put(`${PREFIX}a`).value('10').exec();
  await kv.delete().key(`${PREFIX}b`).exec();
  await kv.put(`${PREFIX}c`).value('{"d":3}').exec();
  const head = await kv.put('/elsewhere').value('1').exec();
  await kv.kv.compact({ revision: head.header.revision, physical: true });

  await startSidecar(t, paths, { extraArgs: args });
  const again = connect({ socketPath: paths.socketPath });
  t.after(() => again.close());
  // Resumed from the last revision seen before the stop: everything after it, in order.
  const watch = recorder(again.watch('', { startRevision: revision + 1 }));
  const [resync] = await watch.next(1, 10_000);
  assert.equal(resync!.source, 'fleet');
  assert.equal(resync!.revision, revision + 1);
  assert.deepEqual(
    [...resync!.changes].sort((x, y) => x.path.join('.').localeCompare(y.path.join('.'))),
    [{ path: ['a'], value: 10 }, { path: ['b'], deleted: true }, { path: ['c'], value: { d: 3 } }],
  );
  await again.set('marker', 1);
  const events = await watch.next(2, 10_000);
  assert.deepEqual(events.map((event) => event.source), ['fleet', 'client'], 'one revision for the whole difference');
  assert.deepEqual(await again.get(''), { a: 10, c: { d: 3 }, marker: 1 });
});
