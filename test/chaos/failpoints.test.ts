// Crashes and disk errors mid-save (docs/defects.md, D1, D3, D7): every step
// of a commit (the journal's append and datasync) and of the file's rewrite
// behind it is failed on purpose, once and from then on. A commit that fails
// answers WRITE_FAILED with the OS reason and applies nothing; a rewrite that
// fails never fails a write (it is committed), leaves the file byte-identical,
// says so in health, and is retried until the file catches up. Nothing is
// acknowledged before its journal record is durable, and no temp file is left.
// Then the process is killed at every step of the very first write and of a
// later one: each restart serves, with every acknowledged write.
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { ConfigSidecarError, connect, type ConfigClient } from '../../client/index.js';
import { Sidecar, createLogger } from '../../sidecar/index.js';
import { encodeRecord } from '../../sidecar/file/commit-journal.js';
import { FaultyFs, type FailStep } from '../helpers/faulty-fs.js';
import { startFaultySidecar } from '../helpers/faulty-sidecar.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { startLineProcess } from '../helpers/line-process.js';
import { CRASHING_SIDECAR } from '../helpers/paths.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

async function start(t: TestContext): Promise<{ faulty: FaultyFs; client: ConfigClient; configPath: string; sidecar: Sidecar }> {
  const { faulty, client, paths, sidecar } = await startFaultySidecar(t);
  await client.set('a', 1, { waitForFile: true });
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

/** No temp file anywhere: beside the config, in the state directory, in a generation directory. */
async function noTempFiles(configPath: string): Promise<void> {
  const names = await readdir(path.dirname(configPath), { recursive: true });
  assert.deepEqual(names.filter((name) => name.includes('.tmp-')), []);
}

/** The commit's steps: a failure there fails the write. */
const JOURNAL_STEPS: FailStep[] = ['journal-write', 'journal-sync'];
/** The config file's rewrite behind the journal: a failure there delays the file, never a write. */
const REWRITE_STEPS: FailStep[] = ['open', 'write', 'zero-write', 'fsync', 'close', 'rename', 'fsync-dir'];

for (const step of JOURNAL_STEPS) {
  test(`a failure at ${step}, once: WRITE_FAILED, nothing applied, the file untouched, the next write succeeds`, async (t) => {
    const { faulty, client, configPath } = await start(t);
    const before = await readFile(configPath);
    faulty.arm({ step, mode: 'once', code: 'EIO' });
    await writeFails(client, 2, 'EIO', step);
    assert.deepEqual(await readFile(configPath), before, 'byte-identical');
    assert.equal(await client.get('a'), 1, 'nothing applied');
    const health = await client.health();
    assert.equal(health.status, 'degraded');
    assert.equal(health.memoryEqualsDisk, true);
    await noTempFiles(configPath);

    await client.set('a', 3, { waitForFile: true });
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
    await client.set('a', 4, { waitForFile: true });
    assert.deepEqual(JSON.parse(await readFile(configPath, 'utf8')), { a: 4 });
    const health = await client.health();
    assert.equal(health.status, 'ok');
    assert.equal(health.memoryEqualsDisk, true);
  });
}

for (const step of REWRITE_STEPS) {
  test(`a failure at ${step} of the file's rewrite, once: the write is committed, the rewrite is retried, the file catches up`, async (t) => {
    const { faulty, client, configPath } = await start(t);
    faulty.arm({ step, mode: 'once', code: 'EIO' });
    await client.set('a', 2, { waitForFile: true });
    assert.deepEqual(JSON.parse(await readFile(configPath, 'utf8')), { a: 2 });
    const stats = await client.stats();
    assert.equal((stats.file as { failedRewrites: number }).failedRewrites, 1, 'the first rewrite failed and was retried');
    assert.equal((await client.health()).status, 'ok');
    await noTempFiles(configPath);
  });

  test(`a failure at ${step} of the file's rewrite, from then on: writes are committed and served, the file trails until the fault clears`, async (t) => {
    const { faulty, client, configPath } = await start(t);
    const before = await readFile(configPath);
    faulty.arm({ step, mode: 'always', code: 'ENOSPC' });
    await client.set('a', 2);
    assert.equal(await client.get('a'), 2, 'committed and served');
    await assert.rejects(client.set('a', 3, { waitForFile: true }), (error: unknown) => {
      assert.ok(error instanceof ConfigSidecarError);
      assert.equal(error.code, 'FILE_LAGGING');
      assert.equal(typeof error.details?.revision, 'number');
      return true;
    });
    assert.equal(await client.get('a'), 3, 'a write whose file lags is still committed');
    const health = await client.health();
    assert.equal(health.status, 'degraded');
    assert.equal(health.memoryEqualsDisk, false);
    assert.ok(health.reasons.some((reason) => reason.includes('could not be rewritten') && reason.includes(step === 'zero-write' ? 'no progress' : 'ENOSPC')), JSON.stringify(health.reasons));
    if (step !== 'fsync-dir') assert.deepEqual(await readFile(configPath), before, 'byte-identical while the fault holds');
    await noTempFiles(configPath);

    faulty.disarm();
    await fileCaughtUp(client);
    assert.deepEqual(JSON.parse(await readFile(configPath, 'utf8')), { a: 3 });
    const after = await client.health();
    assert.equal(after.status, 'ok', JSON.stringify(after.reasons));
    assert.equal(after.memoryEqualsDisk, true);
  });
}

test('a short write is completed, not mistaken for the whole', async (t) => {
  const { faulty, client, configPath } = await start(t);
  faulty.arm({ step: 'short-write', mode: 'once' });
  await client.set('long', 'x'.repeat(10_000), { waitForFile: true });
  assert.equal(JSON.parse(await readFile(configPath, 'utf8')).long, 'x'.repeat(10_000));
});

test('no write is acknowledged before its journal record is durable', async (t) => {
  const { faulty, client } = await start(t);
  const held = faulty.holdAt('journal-sync');
  let acknowledged = false;
  const write = client.set('a', 2).then(() => (acknowledged = true));
  await held.entered;
  // The sidecar is inside the journal's datasync now: the answer must not be out yet.
  await client.ping();
  assert.equal(acknowledged, false);
  held.release();
  await write;
  assert.equal(acknowledged, true);
});

test('a write waiting for the file is not answered before the file\'s directory fsync has completed', async (t) => {
  const { faulty, client } = await start(t);
  const held = faulty.holdAt('fsync-dir');
  let acknowledged = false;
  const write = client.set('a', 2, { waitForFile: true }).then(() => (acknowledged = true));
  await held.entered;
  await client.ping();
  assert.equal(acknowledged, false);
  assert.equal(await client.get('a'), 2, 'committed and served before the file holds it');
  held.release();
  await write;
  assert.equal(acknowledged, true);
  // Its rewrite's steps, then the record of what the file holds.
  assert.deepEqual(faulty.log.slice(-5), ['fsync', 'close', 'rename', 'fsync-dir', 'journal-write']);
});

test('permission denied (EACCES) on the journal: WRITE_FAILED naming it, nothing applied, recovery', async (t) => {
  const { faulty, client, configPath } = await start(t);
  const before = await readFile(configPath);
  faulty.arm({ step: 'journal-write', mode: 'always', code: 'EACCES' });
  await writeFails(client, 2, 'EACCES', 'journal-write');
  assert.deepEqual(await readFile(configPath), before);
  assert.equal((await client.health()).status, 'degraded');
  faulty.disarm();
  await client.set('a', 5);
  assert.equal((await client.health()).status, 'ok');
});

type Write = readonly [key: string, value: number];

/**
 * Runs the crashing sidecar (killed at `step`, 0 = never), sends `writes` one
 * by one, and returns those acknowledged before it died, and the steps it took
 * when it did not crash.
 */
async function crashRun(t: TestContext, paths: TestPaths, step: number, writes: readonly Write[], rotateBytes?: number): Promise<{ acked: Write[]; crashed: boolean; steps: string[] }> {
  const proc = await startLineProcess(t, CRASHING_SIDECAR, [paths.configPath, paths.socketPath, String(step), ...(rotateBytes === undefined ? [] : [String(rotateBytes)])]);
  const exited = new Promise<string>((resolve) => proc.child.once('exit', (code, signal) => resolve(String(signal ?? code))));
  const client = connect({ socketPath: paths.socketPath, defaultTimeoutMs: 15_000 });
  const acked: Write[] = [];
  try {
    for (const write of writes) {
      // Answered once the file holds it: the steps of its commit, its rewrite and (with rotateBytes) the journal's
      // new start all come before the answer, in the same order every run.
      const outcome = await Promise.race([client.set(write[0], write[1], { waitForFile: true }).then(() => 'acked', (error: unknown) => `failed: ${String(error)}`), exited]);
      if (outcome !== 'acked') {
        assert.equal(await exited, 'SIGKILL', `the write ended "${outcome}" without the crash`);
        return { acked, crashed: true, steps: [] };
      }
      acked.push(write);
    }
  } finally {
    client.close();
  }
  proc.child.kill('SIGUSR2');
  const line = await proc.next(10_000);
  proc.child.kill('SIGTERM');
  await exited;
  return { acked, crashed: false, steps: line.replace(/^steps /, '').split(',') };
}

/** A restart serves: every acknowledged write is there, nothing that was never sent, health not failing. */
async function restartKeeps(t: TestContext, paths: TestPaths, acked: readonly Write[], sent: readonly Write[], label: string): Promise<void> {
  let sidecar: Sidecar;
  try {
    sidecar = await Sidecar.start({ configPath: paths.configPath, socketPath: paths.socketPath, logger: createLogger('silent') });
  } catch (error) {
    assert.fail(`${label}: the restart refused: ${(error as Error).message}`);
  }
  t.after(() => sidecar.stop());
  const client = connect({ socketPath: paths.socketPath });
  try {
    const doc = (await client.get('')) as Record<string, number>;
    for (const [key, value] of acked) assert.equal(doc[key], value, `${label}: acknowledged ${key}=${value} is served (got ${JSON.stringify(doc)})`);
    for (const [key, value] of Object.entries(doc)) {
      assert.ok(sent.some(([k, v]) => k === key && v === value), `${label}: ${key}=${value} was never sent`);
    }
    assert.notEqual((await client.health()).status, 'failing', label);
  } finally {
    client.close();
    await sidecar.stop();
  }
}

const FIRST: Write[] = [['a', 1]];
const LATER: Write[] = [['a', 1], ['b', 2]];

// The rounds with the journal restarting after every rewrite run in `npm run test:chaos` (CRASH_ROTATION=1).
const EVERY_STEP = process.env.CRASH_EVERY_STEP === '1';
const ROTATION_ROUNDS = process.env.CRASH_ROTATION === '1' ? [false, true] : [false];
for (const rotation of ROTATION_ROUNDS) {
  const rotateBytes = rotation ? 1 : undefined;
  const what = rotation ? ', with the journal started again from a checkpoint after every rewrite' : '';
  test(`a crash at every step of the first write and of a later one${what}: each restart serves every acknowledged write`, async (t) => {
    const measured = await crashRun(t, await testPaths(t), 0, LATER, rotateBytes);
    assert.equal(measured.crashed, false);
    const firstOnly = await crashRun(t, await testPaths(t), 0, FIRST, rotateBytes);
    const firstSteps = firstOnly.steps.length;
    const allSteps = measured.steps.length;
    assert.ok(firstSteps > 0 && allSteps > firstSteps, `steps: first write ${firstSteps}, both ${allSteps}`);
    t.diagnostic(`first write: ${firstOnly.steps.join(' ')}; later write: ${measured.steps.slice(firstSteps).join(' ')}`);
    for (let step = 1; step <= allSteps; step++) {
      // Run alone, the file crashes at every step of the commits (the journal's) and at every other step of the rest;
      // test:chaos (CRASH_EVERY_STEP=1) at every step.
      const journalStep = measured.steps[step - 1]!.startsWith('journal');
      if (!EVERY_STEP && !journalStep && step % 2 === 0) continue;
      const paths = await testPaths(t);
      const run = await crashRun(t, paths, step, LATER, rotateBytes);
      const label = `crash at step ${step} (${measured.steps[step - 1]}) of the ${step <= firstSteps ? 'first' : 'later'} write${what}`;
      assert.ok(run.crashed, `${label}: the process was killed`);
      await restartKeeps(t, paths, run.acked, LATER, label);
    }
  });
}

for (const step of ['journal-write', 'journal-sync'] as const) {
  test(`a write answered WRITE_FAILED at ${step} is never rebuilt from the journal`, async (t) => {
    const { faulty, client, configPath, sidecar } = await start(t);
    faulty.arm({ step, mode: 'once', code: 'EIO' });
    await writeFails(client, 2, 'EIO', step);
    await sidecar.stop();
    await unlink(configPath);
    const socketPath = path.join(path.dirname(configPath), 'again.sock');
    const again = await Sidecar.start({ configPath, socketPath, logger: createLogger('silent') });
    t.after(() => again.stop());
    const reader = connect({ socketPath });
    t.after(() => reader.close());
    assert.deepEqual(await reader.get(''), { a: 1 });
  });
}

test('a file edited while the sidecar was down, behind the journal, is merged with it: committed writes kept, the edit applied, conflicts reported', async (t) => {
  const before: Write[] = [['a', 1], ['b', 1], ['c', 1]];
  const all: Write[] = [...before, ['a', 2]];
  const threeSteps = (await crashRun(t, await testPaths(t), 0, before)).steps.length;
  const allSteps = (await crashRun(t, await testPaths(t), 0, all)).steps;
  // The fourth write's commit is durable; the crash comes as its rewrite opens its temp file.
  const crashAt = allSteps.indexOf('open', threeSteps) + 1;
  assert.deepEqual(allSteps.slice(threeSteps, crashAt), ['journal-write', 'journal-sync', 'open']);
  const paths = await testPaths(t);
  const run = await crashRun(t, paths, crashAt, all);
  assert.ok(run.crashed);
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { a: 1, b: 1, c: 1 }, 'the file trails the journal');

  // Edited by hand while down, from the file as it was: a conflicts with the committed a=2; b, c and e are the edit's.
  await writeFile(paths.configPath, JSON.stringify({ a: 10, b: 20, e: 5 }, null, 2));
  const sidecar = await Sidecar.start({ configPath: paths.configPath, socketPath: paths.socketPath, logger: createLogger('silent') });
  t.after(() => sidecar.stop());
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  assert.deepEqual(await client.get(''), { a: 2, b: 20, e: 5 });
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { a: 2, b: 20, e: 5 }, 'the file holds the merge');
  const health = await client.health();
  assert.equal(health.status, 'degraded');
  const reason = health.reasons.find((text) => text.includes('edited while the sidecar was down'));
  assert.ok(reason !== undefined && /at a the edit conflicted/.test(reason), JSON.stringify(health.reasons));
  const quarantined = (await readdir(path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine'))).filter((name) => name.endsWith('.edited-while-down'));
  assert.equal(quarantined.length, 1, 'the edit as it was typed is kept');
});

test("a rewrite renamed into place, then a commit, then a crash before the rewrite's record: the restart serves the commit (a deleted key stays deleted)", async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  await writeFile(paths.configPath, '{}\n');
  // The rewrite of a=1 stops after its rename, before its directory fsync and its record in the journal.
  const proc = await startLineProcess(t, CRASHING_SIDECAR, [paths.configPath, paths.socketPath, 'hold:fsync-dir']);
  const client = connect({ socketPath: paths.socketPath, defaultTimeoutMs: 15_000 });
  t.after(() => client.close());
  await client.set('a', 1);
  assert.equal(await proc.next(30_000), 'HELD');
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { a: 1 }, 'the rewrite is in place');
  await client.delete('a');
  client.close();
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGKILL');
  await exited;

  // The file is a checkpoint the journal has no record of; taken for an edit from the state before it, it would bring a back.
  const sidecar = await Sidecar.start({ configPath: paths.configPath, socketPath: paths.socketPath, logger: createLogger('silent') });
  t.after(() => sidecar.stop());
  const reader = connect({ socketPath: paths.socketPath });
  t.after(() => reader.close());
  assert.deepEqual(await reader.get(''), {});
  const health = await reader.health();
  assert.ok(!health.reasons.some((text) => text.includes('edited while the sidecar was down')), JSON.stringify(health.reasons));
});

test('a torn record at the end of the journal (a crash mid-append) is dropped: every acknowledged write is served', async (t) => {
  const paths = await testPaths(t);
  const writes: Write[] = [['a', 1], ['b', 2], ['c', 3]];
  const steps = (await crashRun(t, await testPaths(t), 0, writes)).steps;
  // Killed as the third write's commit record is appended: its commit never happened.
  const third = steps.lastIndexOf('journal-write', steps.lastIndexOf('journal-write') - 1) + 1;
  const run = await crashRun(t, paths, third, writes);
  assert.ok(run.crashed);
  assert.equal(run.acked.length, 2);
  // The record written half: what a crash in the middle of the append leaves.
  const stateDir = path.join(path.dirname(paths.configPath), '.config.json.sidecar');
  const generation = (await readdir(stateDir)).find((name) => name.startsWith('gen-'))!;
  const journal = (await readdir(path.join(stateDir, generation))).filter((name) => name.startsWith('journal-')).sort().at(-1)!;
  const frame = encodeRecord({ kind: 'commit', first: 99, last: 99, changes: [{ segments: ['torn'], value: 1 }] });
  await appendFile(path.join(stateDir, generation, journal), frame.subarray(0, frame.length - 3));
  await unlink(paths.configPath);
  await restartKeeps(t, paths, run.acked, writes, 'after a torn journal tail');
});
