// The fleet source against a real etcd: puts and deletes under the prefix reach
// its callback one change per revision; keys it cannot place are reported; a
// compacted gap arrives as one change; a start while etcd is down serves the
// stored state and catches up when etcd comes; a failed save is retried, never
// half-applied; user/password auth and TLS client certificates work. Restarts of etcd under load and
// several sources converging are in test/chaos/fleet-etcd.test.ts.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Range } from 'etcd3';
import { openEtcdClient } from '../../sidecar/fleet/etcd-client.js';
import { resolveFleetConnection } from '../../sidecar/fleet/fleet-connection.js';
import { loadFleetState } from '../../sidecar/fleet/fleet-state-file.js';
import { etcdSkipReason, startEtcd } from '../helpers/etcd-server.js';
import { FaultyFs } from '../helpers/faulty-fs.js';
import { etcdWriter, startRecordedSource } from '../helpers/fleet-harness.js';
import { testPaths } from '../helpers/temp-dir.js';
import { certificatesSkipReason, makeCertificates } from '../helpers/test-certificates.js';

const skip = await etcdSkipReason();
const tlsSkip = skip ?? (await certificatesSkipReason());
const PREFIX = '/apps/demo/';

// Each test has its own etcd and state directory; they wait on etcd more than they compute, so they run side by side.
describe('fleet source on a real etcd', { skip, concurrency: true }, () => {
  test('a put reaches the callback as one change of its revision; a delete removes the path; a transaction is one change', async (t) => {
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const kv = await etcdWriter(t, etcd.endpoint);
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
    // Keys outside the prefix are not the fleet's. They move etcd's revision: the source is
    // behind by that much until etcd's next progress notification says nothing under the prefix changed.
    const elsewhere = await kv.put('/apps/demo2/server/port').value('1').exec();
    await fleet.until('a progress notification past the other put', () => {
      const { lag, revision } = fleet.source.status();
      return lag === 0 && (revision ?? 0) >= Number(elsewhere.header.revision);
    });
    assert.equal(fleet.changes.length, 2, 'a put elsewhere is no change');
    const removed = await kv.delete().key(`${PREFIX}server/host`).exec();
    await fleet.until('the delete', (changes) => changes.length === 3);
    assert.equal(fleet.changes[2]?.revision, Number(removed.header.revision));
    assert.deepEqual(fleet.changes[2]?.document, { server: { port: 8080 } });
    assert.deepEqual(fleet.changes[2]?.changed, [['server', 'host']]);
    assert.deepEqual(fleet.source.document(), { server: { port: 8080 } });

    // Keys changed in one transaction share one revision: one change, both paths.
    const txn = await kv.kv.txn({
      success: [
        { request_put: { key: Buffer.from(`${PREFIX}server/port`), value: Buffer.from('9090') } },
        { request_put: { key: Buffer.from(`${PREFIX}server/tls`), value: Buffer.from('true') } },
      ],
    });
    await fleet.until('the transaction', (changes) => changes.length === 4);
    assert.equal(fleet.changes[3]?.revision, Number(txn.header.revision));
    assert.deepEqual(fleet.changes[3]?.changed, [['server', 'port'], ['server', 'tls']]);
    const status = fleet.source.status();
    assert.equal(status.connected, true);
    assert.equal(status.revision, Number(txn.header.revision));
    assert.equal(status.from, 'etcd');
  });

  test('keys that cannot be placed are reported and left out; the source keeps going', async (t) => {
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const kv = await etcdWriter(t, etcd.endpoint);
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

  test('a revision etcd compacted away: the source re-reads the prefix and delivers the difference as one change', async (t) => {
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const stateDir = path.join(dir, 'state');
    const kv = await etcdWriter(t, etcd.endpoint);
    await kv.put(`${PREFIX}a`).value('1').exec();
    await kv.put(`${PREFIX}b`).value('2').exec();
    const first = await startRecordedSource(t, etcd.endpoint, PREFIX, stateDir);
    await first.until('the first read', (changes) => changes.length === 1);
    await first.source.close();

    await kv.put(`${PREFIX}a`).value('10').exec();
    await kv.delete().key(`${PREFIX}b`).exec();
    await kv.put(`${PREFIX}c`).value('{"d":3}').exec();
    const head = await kv.put('/elsewhere').value('1').exec();
    await kv.kv.compact({ revision: head.header.revision, physical: true });

    const second = await startRecordedSource(t, etcd.endpoint, PREFIX, stateDir);
    assert.deepEqual(second.source.document(), { a: 1, b: 2 }, 'the stored state is served at once');
    await second.until('the re-read', (changes) => changes.length === 1);
    const [change] = second.changes;
    assert.equal(change?.kind, 'resync');
    assert.equal(change?.revision, Number(head.header.revision));
    assert.deepEqual(change?.document, { a: 10, c: { d: 3 } });
    assert.deepEqual(change?.changed, [['b'], ['a'], ['c']]);
    assert.ok(second.errors.some((e) => /cancelled the watch/.test(e.message)), second.errors.map((e) => e.message).join('; '));
    // Nothing more arrives for the compacted revisions; later puts are followed one by one again.
    const next = await kv.put(`${PREFIX}a`).value('11').exec();
    await second.until('the next put', (changes) => changes.length === 2);
    assert.deepEqual([second.changes[1]?.kind, second.changes[1]?.revision], ['watch', Number(next.header.revision)]);
  });

  test('started while etcd is down: serves the stored state at once, says so, and catches up revision by revision when etcd comes', async (t) => {
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const stateDir = path.join(dir, 'state');
    const kv = await etcdWriter(t, etcd.endpoint);
    const stored = await kv.put(`${PREFIX}p`).value('1').exec();
    const first = await startRecordedSource(t, etcd.endpoint, PREFIX, stateDir);
    await first.until('the first read', (changes) => changes.length === 1);
    await first.source.close();
    const q = await kv.put(`${PREFIX}q`).value('2').exec();
    const p = await kv.put(`${PREFIX}p`).value('3').exec();
    await etcd.kill();

    const second = await startRecordedSource(t, etcd.endpoint, PREFIX, stateDir);
    assert.deepEqual(second.source.document(), { p: 1 });
    const down = second.source.status();
    assert.equal(down.connected, false);
    assert.equal(down.from, 'stored');
    assert.equal(down.revision, Number(stored.header.revision));
    assert.equal(typeof down.ageMs, 'number');
    await second.until('a failed attempt', () => second.errors.length > 0);
    assert.equal(second.source.status().connected, false);
    assert.equal(second.changes.length, 0);

    await etcd.start();
    await second.until('the two missed puts', (changes) => changes.length === 2);
    assert.deepEqual(
      second.changes.map((c) => [c.kind, c.revision]),
      [
        ['watch', Number(q.header.revision)],
        ['watch', Number(p.header.revision)],
      ],
    );
    assert.deepEqual(second.source.document(), { p: 3, q: 2 });
    const up = second.source.status();
    assert.equal(up.connected, true);
    assert.equal(up.ageMs, 0);
    assert.equal(up.lastError, undefined);
  });

  test('a change whose state cannot be saved is not delivered; it arrives once, after a retry from the last saved revision', async (t) => {
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const stateDir = path.join(dir, 'state');
    const kv = await etcdWriter(t, etcd.endpoint);
    const disk = new FaultyFs();
    const fleet = await startRecordedSource(t, etcd.endpoint, PREFIX, stateDir, { fs: disk.fs });
    await fleet.until('the first read', (changes) => changes.length === 1);

    // A watch batch is saved as an append to the fleet log, made durable with an fdatasync.
    disk.arm({ step: 'journal-sync', mode: 'once', code: 'EIO' });
    const put = await kv.put(`${PREFIX}x`).value('1').exec();
    await fleet.until('the put, after the failed save', (changes) => changes.length === 2);
    assert.deepEqual(fleet.changes.map((c) => [c.kind, c.revision]).slice(1), [['watch', Number(put.header.revision)]]);
    assert.ok(fleet.errors.some((e) => /could not save the fleet state: EIO/.test(e.message)), fleet.errors.map((e) => e.message).join('; '));
    const stored = await loadFleetState(stateDir, PREFIX);
    assert.equal(stored.state?.revision, Number(put.header.revision));
    assert.deepEqual([...(stored.state?.entries ?? [])], [['x', '1']]);
  });

  test('etcd user/password auth: the source reads with a read-only role; a wrong password is reported, never crashes', async (t) => {
    const etcd = await startEtcd(t);
    const { dir } = await testPaths(t);
    const admin = await etcdWriter(t, etcd.endpoint);
    await admin.role('root').create();
    await admin.user('root').create('root-pw');
    await admin.user('root').addRole('root');
    await admin.role('fleet-reader').create();
    await admin.role('fleet-reader').grant({ permission: 'Read', range: Range.prefix(PREFIX) });
    await admin.user('svc').create('svc-pw');
    await admin.user('svc').addRole('fleet-reader');
    await admin.auth.authEnable();
    const root = await openEtcdClient({ endpoints: [etcd.endpoint], prefix: '/', auth: { username: 'root', password: 'root-pw' } });
    t.after(() => root.close());
    await root.put(`${PREFIX}x`).value('1').exec();

    const fleet = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'ok'), {
      connection: { endpoints: [etcd.endpoint], prefix: PREFIX, auth: { username: 'svc', password: 'svc-pw' } },
    });
    await fleet.until('the first read', (changes) => changes.length === 1);
    assert.deepEqual(fleet.source.document(), { x: 1 });
    const put = await root.put(`${PREFIX}x`).value('2').exec();
    await fleet.until('the put', (changes) => changes.at(-1)?.revision === Number(put.header.revision));

    const denied = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'denied'), {
      connection: { endpoints: [etcd.endpoint], prefix: PREFIX, auth: { username: 'svc', password: 'wrong' } },
    });
    await denied.until('a refusal', () => denied.errors.length > 0);
    assert.match(denied.source.status().lastError ?? '', /authentication failed/);
    assert.equal(denied.source.status().connected, false);
    assert.equal(denied.changes.length, 0);
  });

  test('TLS with a client certificate (--fleet-ca, --fleet-cert, --fleet-key): followed; without the client certificate, refused and reported', { skip: tlsSkip }, async (t) => {
    const { dir } = await testPaths(t);
    const certs = await makeCertificates(dir);
    const etcd = await startEtcd(t, { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, clientCertAuth: true, clientCert: certs.clientCert, clientKey: certs.clientKey });
    const url = `etcd://${etcd.endpoint}${PREFIX}`;
    const withCert = await resolveFleetConnection({ fleet: url, 'fleet-ca': certs.ca, 'fleet-cert': certs.clientCert, 'fleet-key': certs.clientKey });
    const caOnly = await resolveFleetConnection({ fleet: url, 'fleet-ca': certs.ca });
    assert.ok(withCert !== undefined && caOnly !== undefined);
    const writer = await openEtcdClient({ ...withCert, prefix: '/' });
    t.after(() => writer.close());
    await writer.put(`${PREFIX}tls`).value('true').exec();

    const fleet = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'ok'), { connection: withCert });
    await fleet.until('the first read', (changes) => changes.length === 1);
    assert.deepEqual(fleet.source.document(), { tls: true });

    const refused = await startRecordedSource(t, etcd.endpoint, PREFIX, path.join(dir, 'refused'), { connection: caOnly });
    await refused.until('a refusal', () => refused.errors.length > 0);
    t.diagnostic(`without a client certificate: ${refused.source.status().lastError}`);
    assert.equal(refused.source.status().connected, false);
    assert.equal(refused.changes.length, 0);
  });
});
