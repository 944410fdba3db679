// The file stays a human file (docs/decisions.md, "Hand edits"): edits made by hand while the
// sidecar runs become one revision with source "file" for every watcher,
// whether the editor renames a new file into place (vim, VS Code) or
// truncates and rewrites it; the sidecar's own writes never come back as
// edits (docs/defects.md D11, D12); an invalid edit is not applied, degrades health,
// is kept in quarantine/, and the next valid edit heals. SIGHUP re-reads.
import assert from 'node:assert/strict';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { healthOnceNotOk } from '../helpers/health-wait.js';
import { testPaths } from '../helpers/temp-dir.js';
import { recorder } from '../helpers/watch-recorder.js';

test('hand edits by rename and by rewrite each become one "file" revision; own writes never echo', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('server', { port: 80, host: 'a' }, { waitForFile: true });
  const watch = recorder(client.watch('', { initial: 'none' }));
  await client.ping(); // the watch is registered before anything else happens

  // vim: write a new file and rename it over the config.
  const temp = path.join(path.dirname(paths.configPath), 'config.json~');
  await writeFile(temp, JSON.stringify({ server: { port: 81, host: 'a' } }, null, 4));
  await rename(temp, paths.configPath);
  const [byRename] = await watch.next(1);
  assert.equal(byRename!.source, 'file');
  assert.deepEqual(byRename!.changes, [{ path: ['server', 'port'], value: 81 }]);

  // An editor that truncates and rewrites in place.
  await writeFile(paths.configPath, '{"server": {"port": 82, "host": "b"}}');
  const [, byRewrite] = await watch.next(2);
  assert.equal(byRewrite!.source, 'file');
  assert.deepEqual(byRewrite!.changes, [
    { path: ['server', 'port'], value: 82 },
    { path: ['server', 'host'], value: 'b' },
  ]);
  assert.equal(await client.get('server.port'), 82);

  // A client write after the edits: exactly one more event, from the client; the sidecar's own file write is not an edit.
  await client.set('server.port', 83);
  const [, , own] = await watch.next(3);
  assert.equal(own!.source, 'client');
  await client.set('marker', 1, { waitForFile: true });
  const all = await watch.next(4);
  assert.deepEqual(all.map((e) => e.source), ['file', 'file', 'client', 'client']);
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { server: { port: 83, host: 'b' }, marker: 1 });

  // SIGHUP on an unchanged file: nothing happens.
  sidecar.child.kill('SIGHUP');
  await client.set('marker', 2);
  assert.deepEqual((await watch.next(5)).map((e) => e.source), ['file', 'file', 'client', 'client', 'client']);
});

test('an invalid hand edit is not applied, degrades health, is kept in quarantine, and the next valid edit heals', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('server', { port: 80 }, { waitForFile: true });
  const watch = recorder(client.watch('', { initial: 'none' }));
  await client.ping();

  const broken = '{\n  "server": {\n    "port": 81,,\n  }\n}\n';
  await writeFile(paths.configPath, broken);
  const health = await healthOnceNotOk(client);
  assert.equal(health.status, 'degraded');
  assert.equal(health.fileValid, false);
  assert.match(health.reasons.join('\n'), /line 3/);
  assert.equal(await client.get('server.port'), 80, 'the last good state is still served');
  const quarantine = path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine');
  const kept = await readdir(quarantine);
  assert.equal(kept.length, 1);
  assert.equal(await readFile(path.join(quarantine, kept[0]!), 'utf8'), broken);

  await writeFile(paths.configPath, '{"server": {"port": 81}}\n');
  const [healed] = await watch.next(1);
  assert.equal(healed!.source, 'file');
  assert.deepEqual(healed!.changes, [{ path: ['server', 'port'], value: 81 }]);
  assert.equal((await client.health()).status, 'ok');
  assert.equal(watch.events.length, 1, 'the invalid edit produced no event');
});
