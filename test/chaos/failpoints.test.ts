// Crashes and disk errors mid-save (seeds/000 #4, #10; seeds/002): every step
// of a durable write is failed on purpose, once and from then on. Each time
// the writer gets WRITE_FAILED with the OS reason, the file is byte-identical
// to before, nothing was acknowledged before the directory fsync, memory still
// equals disk, no temp file is left, and once the fault clears writes succeed.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ConfigSidecarError, type ConfigClient } from '../../client/index.js';
import type { Sidecar } from '../../sidecar/index.js';
import { FaultyFs, type FailStep } from '../helpers/faulty-fs.js';
import { startFaultySidecar } from '../helpers/faulty-sidecar.js';

async function start(t: TestContext): Promise<{ faulty: FaultyFs; client: ConfigClient; configPath: string; sidecar: Sidecar }> {
  const { faulty, client, paths, sidecar } = await startFaultySidecar(t);
  await client.set('a', 1);
  return { faulty, client, configPath: paths.configPath, sidecar };
}

/** The write is refused with WRITE_FAILED naming the OS error (a write that makes no progress has none: its reason says so). */
async function writeFails(client: ConfigClient, value: number, osCode: string, step: FailStep): Promise<void> {
  await assert.rejects(client.set('a', value), (error: unknown) => {
    assert.ok(error instanceof ConfigSidecarError);
    assert.equal(error.code, 'WRITE_FAILED');
    if (step === 'zero-write') assert.match(error.message, /no progress/);
    else assert.equal(error.details?.osCode, osCode);
    return true;
  });
}

async function noTempFiles(configPath: string): Promise<void> {
  const names = await readdir(path.dirname(configPath));
  assert.deepEqual(names.filter((name) => name.includes('.tmp-')), []);
}

const STEPS: FailStep[] = ['open', 'write', 'zero-write', 'fsync', 'close', 'rename', 'fsync-dir'];

for (const step of STEPS) {
  test(`a failure at ${step}, once: WRITE_FAILED, the file untouched, the next write succeeds`, async (t) => {
    const { faulty, client, configPath } = await start(t);
    const before = await readFile(configPath);
    faulty.arm({ step, mode: 'once', code: 'EIO' });
    await writeFails(client, 2, 'EIO', step);
    assert.deepEqual(await readFile(configPath), before, 'byte-identical');
    assert.equal(await client.get('a'), 1, 'memory equals disk');
    const health = await client.health();
    assert.equal(health.status, 'degraded');
    assert.equal(health.memoryEqualsDisk, true);
    await noTempFiles(configPath);

    await client.set('a', 3);
    assert.deepEqual(JSON.parse(await readFile(configPath, 'utf8')), { a: 3 });
    assert.equal((await client.health()).status, 'ok');
  });

  test(`a failure at ${step}, from then on: every write fails cleanly until the fault clears`, async (t) => {
    const { faulty, client, configPath } = await start(t);
    const before = await readFile(configPath);
    faulty.arm({ step, mode: 'always', code: 'ENOSPC' });
    await writeFails(client, 2, 'ENOSPC', step);
    await writeFails(client, 3, 'ENOSPC', step);
    assert.deepEqual(await readFile(configPath), before, 'byte-identical');
    assert.equal(await client.get('a'), 1);
    await noTempFiles(configPath);

    faulty.disarm();
    await client.set('a', 4);
    assert.deepEqual(JSON.parse(await readFile(configPath, 'utf8')), { a: 4 });
    const health = await client.health();
    assert.equal(health.status, 'ok');
    assert.equal(health.memoryEqualsDisk, true);
  });
}

test('a short write is completed, not mistaken for the whole', async (t) => {
  const { faulty, client, configPath } = await start(t);
  faulty.arm({ step: 'short-write', mode: 'once' });
  await client.set('long', 'x'.repeat(10_000));
  assert.equal(JSON.parse(await readFile(configPath, 'utf8')).long, 'x'.repeat(10_000));
});

test('no write is acknowledged before the directory fsync has completed', async (t) => {
  const { faulty, client } = await start(t);
  const held = faulty.holdAt('fsync-dir');
  let acknowledged = false;
  const write = client.set('a', 2).then(() => (acknowledged = true));
  await held.entered;
  // The sidecar is inside the directory fsync now: the answer must not be out yet.
  await client.ping();
  assert.equal(acknowledged, false);
  held.release();
  await write;
  assert.equal(acknowledged, true);
  assert.deepEqual(faulty.log.slice(-4), ['fsync', 'close', 'rename', 'fsync-dir']);
});

test('permission denied (EACCES) on creating the temp file: WRITE_FAILED naming it, file intact, recovery', async (t) => {
  const { faulty, client, configPath } = await start(t);
  const before = await readFile(configPath);
  faulty.arm({ step: 'open', mode: 'always', code: 'EACCES' });
  await writeFails(client, 2, 'EACCES', 'open');
  assert.deepEqual(await readFile(configPath), before);
  assert.equal((await client.health()).status, 'degraded');
  faulty.disarm();
  await client.set('a', 5);
  assert.equal((await client.health()).status, 'ok');
});
