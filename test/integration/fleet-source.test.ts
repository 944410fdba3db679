// The fleet source against a real etcd: puts and deletes under the prefix reach
// its callback one change per revision; keys it cannot place are reported; it
// resumes after etcd restarts without missing or repeating a revision; a
// compacted gap arrives as one change; a start while etcd is down serves the
// stored state and catches up when etcd comes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { etcdSkipReason, startEtcd } from '../helpers/etcd-server.js';
import { etcdWriter, prefixHistory, startRecordedSource } from '../helpers/fleet-harness.js';
import { testPaths } from '../helpers/temp-dir.js';

const skip = await etcdSkipReason();
const PREFIX = '/apps/demo/';

test('a put reaches the callback as one change of its revision; a delete removes the path', { skip }, async (t) => {
  const etcd = await startEtcd(t);
  const { dir } = await testPaths(t);
  const kv = etcdWriter(t, etcd.endpoint);
  await kv.put(`${PREFIX}server/host`).value('"db.local"').exec();
  const fleet = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'state'));
  await fleet.until('the first read', (changes) => changes.length === 1);
  assert.equal(fleet.changes[0]?.kind, 'initial');
  assert.deepEqual(fleet.changes[0]?.document, { server: { host: 'db.local' } });

  const put = await kv.put(`${PREFIX}server/port`).value('8080').exec();
  await fleet.until('the put', (changes) => changes.length === 2);
  assert.deepEqual(fleet.changes[1], {
    kind: 'watch',
    revision: Number(put.header.revision),
    document: { server: { host: 'db.local', port: 8080 } },
    changed: [['server', 'port']],
    problems: [],
  });
  // Keys outside the prefix are not the fleet's.
  await kv.put('/apps/demo2/server/port').value('1').exec();
  const removed = await kv.delete().key(`${PREFIX}server/host`).exec();
  await fleet.until('the delete', (changes) => changes.length === 3);
  assert.equal(fleet.changes[2]?.revision, Number(removed.header.revision));
  assert.deepEqual(fleet.changes[2]?.document, { server: { port: 8080 } });
  assert.deepEqual(fleet.changes[2]?.changed, [['server', 'host']]);
  assert.deepEqual(fleet.source.document(), { server: { port: 8080 } });
  const status = fleet.source.status();
  assert.equal(status.connected, true);
  assert.equal(status.revision, Number(removed.header.revision));
  assert.equal(status.from, 'etcd');
});

test('keys that cannot be placed are reported and left out; the source keeps going', { skip }, async (t) => {
  const etcd = await startEtcd(t);
  const { dir } = await testPaths(t);
  const kv = etcdWriter(t, etcd.endpoint);
  const fleet = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'state'));
  await fleet.until('the first read', (changes) => changes.length === 1);
  await kv.put(`${PREFIX}a`).value('1').exec();
  await kv.put(`${PREFIX}a/b`).value('2').exec();
  await kv.put(`${PREFIX}name`).value('plain text').exec();
  await kv.put(`${PREFIX}x/__proto__/polluted`).value('true').exec();
  await kv.put(`${PREFIX}y`).value('{"__proto__":{"polluted":true}}').exec();
  const last = await kv.put(`${PREFIX}ok`).value('{"still":"served"}').exec();
  await fleet.until('all six revisions', (changes) => changes.at(-1)?.revision === Number(last.header.revision));
  assert.equal(fleet.changes.length, 7, 'one change per revision, problems or not');
  assert.deepEqual(fleet.source.document(), { a: 1, ok: { still: 'served' } });
  assert.deepEqual(
    fleet.source.status().problems.map((p) => [p.key, p.kind]),
    [
      ['name', 'not-json'],
      ['y', 'forbidden-segment'],
      ['a/b', 'conflict'],
      ['x/__proto__/polluted', 'forbidden-segment'],
    ],
  );
  assert.match(fleet.source.status().problems[2]?.message ?? '', /"a\/b" lies below "a"/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
