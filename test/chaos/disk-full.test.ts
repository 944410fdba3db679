// Disk full and permission denied for real (docs/defects.md, D3), where
// failpoints.test.ts injects the same errors: the config lives on a small
// tmpfs that is really filled up, and a sidecar running as an unprivileged
// user really loses write permission on the config's directory. A write is
// committed when its journal record is durable: on a full disk it is either
// committed (the journal's last page had room) or refused WRITE_FAILED naming
// ENOSPC with nothing applied, the partial record cut off and its space given
// back. The file, rewritten behind the journal, stays byte-identical while it
// cannot be replaced, no temp file is left, health is degraded naming the
// error, reads serve exactly the committed writes, watchers never see a
// refused write, and once space or permission returns the file catches up
// and health is ok again.
//
// Needs root (mount, setuid); skipped with the reason elsewhere. Teardown
// order matters and is fixed in one place: client closed, sidecar stopped
// (SIGTERM, then SIGKILL), tmpfs unmounted, temp dir removed — each bounded.
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect, ConfigSidecarError, type ChangeEvent, type ConfigClient } from '../../client/index.js';
import { programForUser, spawnSidecarAsUser, waitForServing } from '../helpers/sidecar-as-user.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { fillUntilFull, freeBytes, mountedFsType, mountSmallTmpfs } from '../helpers/small-tmpfs.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { stopWithin, teardown, type Teardown } from '../helpers/teardown.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Small enough to fill in milliseconds, big enough for a config, its state dir and a few backups. */
const DISK_BYTES = 4 * MiB;
/** The conventional unprivileged user and group (nobody / nogroup). */
const NOBODY = 65534;

/** Every mount point made by this file, checked at the end. */
const mountedHere: string[] = [];

interface Disk {
  /** Temp dir on the ordinary disk: the socket lives here, the tmpfs is mounted inside. */
  base: string;
  /** The tmpfs mount point. */
  disk: string;
  configPath: string;
  socketPath: string;
  cleanup: Teardown;
}

/** A fresh temp dir with a small tmpfs mounted in it, torn down in order after the test; undefined if skipped. */
async function smallDisk(t: TestContext, rootMode = 0o700): Promise<Disk | undefined> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'cs-df-'));
  const cleanup = teardown(t);
  cleanup.defer('remove the temp dir', () => rm(base, { recursive: true, force: true }));
  const outcome = await mountSmallTmpfs(base, 'disk', DISK_BYTES, rootMode);
  if ('skip' in outcome) {
    t.skip(outcome.skip);
    return undefined;
  }
  const disk = outcome.mounted.dir;
  mountedHere.push(disk);
  cleanup.defer('unmount the tmpfs', () => outcome.mounted.unmount());
  return { base, disk, configPath: path.join(disk, 'conf', 'config.json'), socketPath: path.join(base, 'run', 's.sock'), cleanup };
}

/** The sidecar (a process of its own, as the test's user) serving the config on the tmpfs, and a client of it. */
async function serve(t: TestContext, env: Disk): Promise<ConfigClient> {
  const sidecar = await startSidecar(t, { dir: env.base, configPath: env.configPath, socketPath: env.socketPath }, { noWait: true });
  // Arranged before waiting: a sidecar that never gets ready must still be gone before the unmount.
  env.cleanup.defer('stop the sidecar', () => stopWithin(sidecar.child, sidecar.exited));
  await waitForServing(sidecar);
  return client(env);
}

function client(env: Disk, expectedOwner?: number): ConfigClient {
  const client = connect({ socketPath: env.socketPath, ...(expectedOwner === undefined ? {} : { expectedOwner }) });
  env.cleanup.defer('close the client', () => client.close());
  return client;
}

/** The write is refused with WRITE_FAILED carrying the OS reason, in the details and in the message. */
async function refusedWith(write: Promise<unknown>, osCode: string): Promise<ConfigSidecarError> {
  let refusal: unknown;
  await assert.rejects(write, (error: unknown) => {
    refusal = error;
    return true;
  });
  assert.ok(refusal instanceof ConfigSidecarError, `expected a ConfigSidecarError, got ${String(refusal)}`);
  assert.equal(refusal.code, 'WRITE_FAILED', refusal.message);
  assert.equal(refusal.details?.osCode, osCode, JSON.stringify(refusal.details));
  assert.match(refusal.message, new RegExp(osCode));
  return refusal;
}

/** Health degraded by a refused write (`refused`) or by a file that could not be rewritten, naming `osCode`. */
async function assertDegradedBy(client: ConfigClient, osCode: string, how: 'refused' | 'file trails'): Promise<void> {
  const health = await client.health();
  assert.equal(health.status, 'degraded', JSON.stringify(health));
  assert.ok(
    health.reasons.some((reason) => reason.includes(osCode)),
    `a reason names ${osCode}: ${JSON.stringify(health.reasons)}`,
  );
  if (how === 'refused') {
    assert.match(health.lastWriteError ?? '', new RegExp(osCode));
    assert.ok(health.writeErrors >= 1);
  } else {
    assert.equal(health.memoryEqualsDisk, false, 'the file trails the served config');
  }
  assert.equal(health.fileValid, true);
}

async function assertHealthy(client: ConfigClient): Promise<void> {
  const health = await client.health();
  assert.equal(health.status, 'ok', JSON.stringify(health));
  assert.deepEqual(health.reasons, []);
  assert.equal(health.memoryEqualsDisk, true);
}

/** What the sidecar serves is what the file holds (once it has caught up). */
async function assertMemoryEqualsDisk(client: ConfigClient, configPath: string): Promise<void> {
  await fileCaughtUp(client);
  assert.deepEqual(await client.get(''), JSON.parse(await readFile(configPath, 'utf8')));
}

/** Writes `name` = after-1, after-2, ... until one is refused (the journal's last page is full too); returns the last value committed. */
async function writeUntilRefused(client: ConfigClient, osCode: string): Promise<{ refusal: ConfigSidecarError; lastCommitted: string | undefined; committed: number }> {
  let lastCommitted: string | undefined;
  for (let i = 1; i <= 2000; i++) {
    try {
      await client.set('name', `after-${i}`);
      lastCommitted = `after-${i}`;
    } catch {
      const refusal = await refusedWith(client.set('name', `after-${i}`), osCode);
      return { refusal, lastCommitted, committed: i - 1 };
    }
  }
  throw new Error('2000 writes were committed on a full disk');
}

/** No temp file of an abandoned write anywhere on the disk (config dir, state dir, backups). */
async function assertNoTempFiles(dir: string): Promise<void> {
  const names = await readdir(dir, { recursive: true });
  assert.deepEqual(
    names.filter((name) => path.basename(name).includes('.tmp-')),
    [],
  );
}

/** Records watch events on the whole document and waits, bounded, for a given revision. */
function recordWatch(client: ConfigClient): { events: ChangeEvent[]; reached(revision: number, timeoutMs?: number): Promise<void> } {
  const events: ChangeEvent[] = [];
  const waiters: (() => void)[] = [];
  // Closed with the client at teardown.
  client.watch('', (event) => {
    events.push(event);
    for (const wake of waiters.splice(0)) wake();
  }, { initial: 'none' });
  return {
    events,
    reached: async (revision, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      while (!events.some((event) => event.revision >= revision)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no watch event for revision ${revision} within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

test('a full disk (real tmpfs): WRITE_FAILED with ENOSPC, the file untouched, health degraded, recovery once space returns', async (t) => {
  const env = await smallDisk(t);
  if (env === undefined) return;
  const client = await serve(t, env);
  await client.set('server.port', 8080);
  await client.set('tags', ['a', 'b']);
  const last = await client.set('name', 'before', { waitForFile: true });
  const committedFile = await readFile(env.configPath);
  const watch = recordWatch(client);
  await client.ping(); // the watch is registered before anything else happens

  const filler = path.join(env.disk, 'filler');
  assert.equal(await fillUntilFull(filler, 0, DISK_BYTES + MiB), 0, 'not one page is free');
  // Commits fit in the journal's last page until it is full; then each is refused and nothing applied.
  const { lastCommitted, committed: fitted } = await writeUntilRefused(client, 'ENOSPC');
  await refusedWith(client.batch([{ op: 'set', path: 'name', value: 'refused' }, { op: 'delete', path: 'tags' }]), 'ENOSPC');

  assert.deepEqual(await readFile(env.configPath), committedFile, 'the file is byte-identical while it cannot be rewritten');
  await assertNoTempFiles(env.disk);
  await assertDegradedBy(client, 'ENOSPC', 'refused');
  const served = lastCommitted ?? 'before';
  assert.equal(await client.get('name'), served, 'reads serve exactly the committed writes');
  const refusedAt = await client.ping();
  assert.equal(refusedAt.revision, last.revision + fitted, 'refused writes took no revision');

  await unlink(filler);
  const recovered = await client.set('name', 'after', { waitForFile: true });
  assert.equal(recovered.revision, refusedAt.revision + 1, 'refused writes took no revision');
  assert.deepEqual(JSON.parse(await readFile(env.configPath, 'utf8')), { name: 'after', server: { port: 8080 }, tags: ['a', 'b'] });
  await assertHealthy(client);
  await assertMemoryEqualsDisk(client, env.configPath);

  await watch.reached(recovered.revision);
  const expected = [...Array.from({ length: fitted }, (_, i) => `after-${i + 1}`), 'after'];
  assert.deepEqual(
    watch.events.map((event) => event.changes),
    expected.map((value) => [{ path: ['name'], value }]),
    'watchers saw only the committed writes',
  );
});

test('a nearly full disk (real tmpfs): a big value\'s journal record is cut short by the kernel, then ENOSPC; the partial record is cut off', async (t) => {
  const env = await smallDisk(t);
  if (env === undefined) return;
  const client = await serve(t, env);
  // Its rewrite done too: nothing of the sidecar's takes space while the disk is filled and measured.
  await client.set('name', 'small', { waitForFile: true });

  const leftFree = 128 * KiB;
  const filler = path.join(env.disk, 'filler');
  assert.equal(await fillUntilFull(filler, leftFree, DISK_BYTES + MiB), leftFree);
  const big = 'x'.repeat(400_000);

  // The premise: on this file system a write bigger than the free space is first cut short, then fails.
  const probePath = path.join(env.disk, 'probe');
  const probe = await open(probePath, 'wx');
  try {
    const { bytesWritten } = await probe.write(Buffer.from(big));
    assert.ok(bytesWritten > 0 && bytesWritten < big.length, `a short write (${bytesWritten} of ${big.length} bytes)`);
    await assert.rejects(probe.write(Buffer.from(big)), { code: 'ENOSPC' });
  } finally {
    await probe.close();
  }
  await unlink(probePath);
  assert.equal(await freeBytes(env.disk), leftFree);

  // A write that fits still succeeds on the nearly full disk.
  await client.set('note', 'fits', { waitForFile: true });
  const committed = await readFile(env.configPath);
  const free = await freeBytes(env.disk);

  const refusal = await refusedWith(client.set('blob', big), 'ENOSPC');
  // Refused while appending its journal record (cut short by the kernel, then ENOSPC), which was cut off again.
  assert.match(refusal.message, /\bjournal failed\b/);
  assert.deepEqual(await readFile(env.configPath), committed, 'byte-identical');
  await assertNoTempFiles(env.disk);
  // The record's 400 KB are given back; the journal whose append failed is replaced by a new one (a page or two).
  assert.ok((await freeBytes(env.disk)) >= free - 8 * KiB, `the partly appended record was cut off and its space given back (${free} free before, ${await freeBytes(env.disk)} after)`);
  await assertDegradedBy(client, 'ENOSPC', 'refused');
  await assertMemoryEqualsDisk(client, env.configPath);
  assert.deepEqual(await client.get(''), { name: 'small', note: 'fits' });

  await unlink(filler);
  await client.set('blob', big, { waitForFile: true });
  assert.equal(JSON.parse(await readFile(env.configPath, 'utf8')).blob, big);
  await assertHealthy(client);
  await assertMemoryEqualsDisk(client, env.configPath);
});

test('permission denied for real (sidecar as an unprivileged user): writes committed, the file untouched and trailing with EACCES, caught up once permission returns', async (t) => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    t.skip(`running the sidecar as another user needs root on Linux (this is ${process.platform}, uid ${process.getuid?.()})`);
    return;
  }
  // Root ignores file modes, so the sidecar runs as nobody; the client (root) can still reach its owner-only socket.
  const env = await smallDisk(t, 0o755);
  if (env === undefined) return;
  // nobody must be able to pass through the temp dir to its socket dir and (maybe) a linked node binary.
  await chmod(env.base, 0o711);
  const found = await programForUser(NOBODY, NOBODY, env.base);
  if ('skip' in found) {
    t.skip(found.skip);
    return;
  }
  const home = path.join(env.disk, 'home');
  const confDir = path.dirname(env.configPath);
  for (const dir of [home, confDir, path.dirname(env.socketPath)]) {
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, NOBODY, NOBODY);
  }
  const sidecar = spawnSidecarAsUser({ node: found.node, cli: found.cli, uid: NOBODY, gid: NOBODY, configPath: env.configPath, socketPath: env.socketPath, home });
  env.cleanup.defer('stop the sidecar', () => stopWithin(sidecar.child, sidecar.exited));
  await waitForServing(sidecar);
  // The socket is nobody's: the client is told to expect that owner, or it refuses the socket (UNTRUSTED_SOCKET).
  const c = client(env, NOBODY);

  await c.set('a', 1, { waitForFile: true });
  assert.equal((await stat(env.configPath)).uid, NOBODY, 'the sidecar writes as nobody, so file modes bind it');
  const committed = await readFile(env.configPath);
  // The journal is open already, so writes are still committed; the rewrite of the file is renamed
  // into the config's directory: without write permission there, EACCES, and the file trails.
  await chmod(confDir, 0o500);
  await c.set('a', 2);
  await assert.rejects(c.set('a', 3, { waitForFile: true }), (error: unknown) => error instanceof ConfigSidecarError && error.code === 'FILE_LAGGING' && /EACCES/.test(error.message));
  assert.deepEqual(await readFile(env.configPath), committed, 'byte-identical');
  await assertNoTempFiles(env.disk);
  await assertDegradedBy(c, 'EACCES', 'file trails');
  assert.equal(await c.get('a'), 3, 'committed and served');

  await chmod(confDir, 0o700);
  await fileCaughtUp(c);
  assert.deepEqual(JSON.parse(await readFile(env.configPath, 'utf8')), { a: 3 });
  await assertHealthy(c);
  await assertMemoryEqualsDisk(c, env.configPath);
});

test('no tmpfs mount of these tests is left behind', async (t) => {
  if (mountedHere.length === 0) {
    t.skip('no tmpfs was mounted (the tests above were skipped)');
    return;
  }
  // Each test's teardown checked its own mount; this checks them all again, after every hook has run.
  for (const dir of mountedHere) assert.equal(await mountedFsType(dir), undefined, `${dir} is still mounted`);
});
