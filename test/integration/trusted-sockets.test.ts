// Who is on the other end of the socket, tried as another local user would:
// an impersonator in the victim's default socket directory gets nothing;
// starting a sidecar changes no directory it did not create; a state
// directory made by someone else is refused; a sidecar never removes
// another's socket (the race for one path: test/chaos/socket-race.test.ts);
// socket paths are checked up front. Cross-user cases create real users (as root).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, chown, lstat, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigSidecarError, connect } from '../../client/index.js';
import { currentPathContext, defaultSocketPath } from '../../protocol/index.js';
import { cannotCreateUsers, createUser, runAs, spawnAs, type LocalUser } from '../helpers/local-users.js';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

/** The impersonator script as `user` can reach it (beside the CLI it runs). */
function fakeSidecarFor(user: LocalUser): string {
  return path.resolve(path.dirname(user.cli), '..', 'test', 'helpers', 'fake-sidecar.js');
}

/** Starts the impersonator as `user` on `socketPath`; resolves once it listens. */
async function impersonate(user: LocalUser, socketPath: string, claimedStateDir?: string): Promise<{ child: ChildProcess; received(): Record<string, unknown>[] }> {
  const child = spawnAs(user, [fakeSidecarFor(user), socketPath, ...(claimedStateDir === undefined ? [] : [claimedStateDir])]);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the impersonator did not listen within 10 s: ${stderr}`)), 10_000);
    const check = () => {
      if (!stdout.includes('LISTENING\n')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`the impersonator exited ${code}: ${stderr}`)));
  });
  return {
    child,
    received: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** The environment of a user with no runtime directory and `tmp` as TMPDIR: the default socket is `<tmp>/<app>-<uid>/sidecar.sock`. */
function noRuntimeDir(tmp: string): Record<string, string> {
  return { TMPDIR: tmp, XDG_RUNTIME_DIR: '', CONFIG_SIDECAR_SOCKET: '', CONFIG_SIDECAR_CONFIG: '' };
}

test('an impersonator in the default socket directory gets nothing: set, get and serve refuse it as UNTRUSTED_SOCKET, naming the directory and its owner', async (t) => {
  const why = cannotCreateUsers();
  if (why !== undefined) return t.skip(why);
  const paths = await testPaths(t);
  const tmp = path.join(paths.dir, 'tmp');
  await mkdir(tmp);
  await chmod(tmp, 0o1777);
  const victim = await createUser(t, paths.dir);
  if ('skip' in victim) return t.skip(victim.skip);
  const attacker = await createUser(t, paths.dir);
  if ('skip' in attacker) return t.skip(attacker.skip);
  const victimDir = path.join(tmp, `config-sidecar-${victim.uid}`);
  const fake = await impersonate(attacker, path.join(victimDir, 'sidecar.sock'));
  const env = noRuntimeDir(tmp);

  const set = await runAs(victim, [victim.cli, 'set', 'api.token', 's3cr3t'], env);
  assert.equal(set.code, 3, set.stderr);
  assert.match(set.stderr, /UNTRUSTED_SOCKET/);
  assert.ok(set.stderr.includes(`${victimDir} belongs to uid ${attacker.uid}, not uid ${victim.uid}`), set.stderr);

  const get = await runAs(victim, [victim.cli, 'get', 'server.host'], env);
  assert.equal(get.code, 3, get.stderr);
  assert.doesNotMatch(get.stdout, /impersonator/);

  const home = path.join(paths.dir, 'victim-home');
  await mkdir(home, { mode: 0o700 });
  await chown(home, victim.uid, victim.gid);
  const serve = await runAs(victim, [victim.cli, 'serve', '--config', path.join(home, 'config.json')], { ...env, HOME: home });
  assert.equal(serve.code, 1, serve.stderr);
  assert.ok(serve.stderr.includes(`socket directory ${victimDir} is owned by uid ${attacker.uid}, not by this user (uid ${victim.uid})`), serve.stderr);

  assert.deepEqual(fake.received(), [], 'the impersonator received not even a hello');
});

test('root is not fooled either: --app myapp on the CLI and connect({app}) in the library refuse an impersonator', async (t) => {
  const why = cannotCreateUsers();
  if (why !== undefined) return t.skip(why);
  const paths = await testPaths(t);
  const tmp = path.join(paths.dir, 'tmp');
  await mkdir(tmp);
  await chmod(tmp, 0o1777);
  const attacker = await createUser(t, paths.dir);
  if ('skip' in attacker) return t.skip(attacker.skip);
  const env = noRuntimeDir(tmp);
  const socketPath = defaultSocketPath('myapp', { ...currentPathContext(), env });
  assert.equal(socketPath, path.join(tmp, 'myapp-0', 'sidecar.sock'));
  const fake = await impersonate(attacker, socketPath);

  const set = await runNode(CLI, ['set', 'api.token', 's3cr3t', '--app', 'myapp'], { env });
  assert.equal(set.code, 3, set.stderr);
  assert.match(set.stderr, /UNTRUSTED_SOCKET: the socket directory .* belongs to uid \d+, not uid 0/);

  const client = connect({ socketPath, defaultTimeoutMs: 10_000 });
  try {
    await assert.rejects(client.set('api.token', 's3cr3t'), (error: unknown) => error instanceof ConfigSidecarError && error.code === 'UNTRUSTED_SOCKET');
  } finally {
    client.close();
  }
  assert.deepEqual(fake.received(), []);
});

test('restore sends the backup number only: even a trusted-by-mistake impersonator naming a state directory gets no file from it', async (t) => {
  const why = cannotCreateUsers();
  if (why !== undefined) return t.skip(why);
  const paths = await testPaths(t);
  const victim = await createUser(t, paths.dir);
  if ('skip' in victim) return t.skip(victim.skip);
  const attacker = await createUser(t, paths.dir);
  if ('skip' in attacker) return t.skip(attacker.skip);
  // A directory only the victim can read, with a secret where a backup would be.
  const secrets = path.join(paths.dir, 'secrets');
  await mkdir(path.join(secrets, 'backups'), { recursive: true });
  await writeFile(path.join(secrets, 'backups', 'secret.json'), '{"password": "hunter2"}\n');
  for (const entry of [secrets, path.join(secrets, 'backups'), path.join(secrets, 'backups', 'secret.json')]) await chown(entry, victim.uid, victim.gid);
  await chmod(secrets, 0o700);
  const socketPath = path.join(paths.dir, 'attacker-run', 's.sock');
  await mkdir(path.dirname(socketPath), { mode: 0o755 });
  await chown(path.dirname(socketPath), attacker.uid, attacker.gid);
  const fake = await impersonate(attacker, socketPath, secrets);

  // The victim names the impersonator's user as the expected owner, as a mistaken --expect-owner would.
  const restore = await runAs(victim, [victim.cli, 'restore', '1', '--socket', socketPath, '--expect-owner', attacker.name], {});
  assert.equal(restore.code, 0, restore.stderr);
  const requests = fake.received().filter((message) => message.type !== 'hello');
  assert.deepEqual(
    requests.map(({ op, n }) => ({ op, n })),
    [{ op: 'restore', n: 1 }],
    'one restore request carrying the number, nothing read and sent back',
  );
  assert.doesNotMatch(JSON.stringify(fake.received()), /hunter2/);
});

test('starting a sidecar changes no directory it did not create: a shared sticky directory and a group-writable one are refused; a home directory keeps its mode', async (t) => {
  if (process.platform === 'win32') return t.skip('Unix socket directories only');
  const paths = await testPaths(t);
  const config = ['--config', paths.configPath, '--log-level', 'warn'];

  const shared = path.join(paths.dir, 'shared');
  await mkdir(shared);
  await chmod(shared, 0o1777);
  const inShared = await runNode(CLI, ['serve', ...config, '--socket', path.join(shared, 's.sock')]);
  assert.equal(inShared.code, 1, inShared.stderr);
  assert.match(inShared.stderr, /socket directory .*shared is writable by others \(mode 1777\)/);
  assert.equal((await stat(shared)).mode & 0o7777, 0o1777, 'the shared directory keeps its mode');

  const groupWritable = path.join(paths.dir, 'team');
  await mkdir(groupWritable);
  await chmod(groupWritable, 0o775);
  const inGroup = await runNode(CLI, ['serve', ...config, '--socket', path.join(groupWritable, 's.sock')]);
  assert.equal(inGroup.code, 1, inGroup.stderr);
  assert.match(inGroup.stderr, /writable by its group \(mode 0775\)/);
  assert.equal((await stat(groupWritable)).mode & 0o7777, 0o775);

  if (process.getuid?.() === 0) {
    const foreign = path.join(paths.dir, 'foreign');
    await mkdir(foreign, { mode: 0o700 });
    await chown(foreign, 65534, 65534);
    const inForeign = await runNode(CLI, ['serve', ...config, '--socket', path.join(foreign, 's.sock')]);
    assert.equal(inForeign.code, 1, inForeign.stderr);
    assert.match(inForeign.stderr, /socket directory .*foreign is owned by uid 65534, not by this user/);
    assert.equal((await stat(foreign)).uid, 65534, 'ownership unchanged');
  }

  const home = path.join(paths.dir, 'home');
  await mkdir(home);
  await chmod(home, 0o755);
  const served = await startSidecar(t, { ...paths, socketPath: path.join(home, 'app.sock') });
  assert.equal((await stat(home)).mode & 0o7777, 0o755, 'the home directory keeps 0755 while served');
  assert.equal(await served.stop(), 0);
  assert.equal((await stat(home)).mode & 0o7777, 0o755, 'and after');
  await assert.rejects(lstat(path.join(home, 'app.sock')), /ENOENT/, 'the socket is removed at stop');
});

test('a state directory pre-created by another user beside a config in a shared directory is refused; nothing forged is served or written', async (t) => {
  const why = cannotCreateUsers();
  if (why !== undefined) return t.skip(why);
  const paths = await testPaths(t);
  const shared = path.join(paths.dir, 'shared');
  await mkdir(shared);
  await chmod(shared, 0o1777);
  const attacker = await createUser(t, paths.dir);
  if ('skip' in attacker) return t.skip(attacker.skip);
  const stateDir = path.join(shared, '.victim.json.sidecar');
  const plant = await runAs(attacker, [
    '-e',
    `const fs = require('node:fs'); const d = process.argv[1];
     fs.mkdirSync(d + '/backups', { recursive: true });
     fs.writeFileSync(d + '/state.json', JSON.stringify({ configExists: true }));
     fs.writeFileSync(d + '/backups/2000-01-01T00-00-00-000Z-1.json', JSON.stringify({ admin: 'attacker' }));`,
    stateDir,
  ]);
  assert.equal(plant.code, 0, plant.stderr);

  const configPath = path.join(shared, 'victim.json');
  const serve = await runNode(CLI, ['serve', '--config', configPath, '--socket', paths.socketPath, '--log-level', 'warn']);
  assert.equal(serve.code, 1, serve.stderr);
  assert.ok(serve.stderr.includes(`state directory ${stateDir} is owned by uid ${attacker.uid}, not by this user (uid 0)`), serve.stderr);
  await assert.rejects(lstat(configPath), /ENOENT/, 'the forged backup was not written as the config');
});

test('a state directory others can write is refused, and its mode is left alone', async (t) => {
  if (process.platform === 'win32') return t.skip('Unix modes only');
  const paths = await testPaths(t);
  const stateDir = path.join(path.dirname(paths.configPath), '.config.json.sidecar');
  await mkdir(stateDir, { recursive: true });
  await chmod(stateDir, 0o777);
  const serve = await runNode(CLI, ['serve', '--config', paths.configPath, '--socket', paths.socketPath]);
  assert.equal(serve.code, 1, serve.stderr);
  assert.match(serve.stderr, /state directory .*\.config\.json\.sidecar is writable by others \(mode 0777\)/);
  assert.equal((await stat(stateDir)).mode & 0o7777, 0o777);

  // A config directory anyone can write, without the sticky bit: another user could swap the sidecar's files.
  await chmod(stateDir, 0o700);
  await chmod(path.dirname(paths.configPath), 0o777);
  const open = await runNode(CLI, ['serve', '--config', paths.configPath, '--socket', paths.socketPath]);
  assert.equal(open.code, 1, open.stderr);
  assert.match(open.stderr, /config file's directory .* is writable by others without the sticky bit \(mode 0777\)/);
});

test('a stopping sidecar removes only the socket it created: another sidecar bound at the path since keeps its socket', async (t) => {
  const paths = await testPaths(t);
  const first = await startSidecar(t, { ...paths, configPath: path.join(paths.dir, 'a', 'config.json') });
  // Its socket moved aside (as by an operator, or a race of the old code): the path is free for another.
  await rename(paths.socketPath, `${paths.socketPath}.aside`);
  const second = await startSidecar(t, { ...paths, configPath: path.join(paths.dir, 'b', 'config.json') });
  assert.equal(await first.stop(), 0);
  const client = connect({ socketPath: paths.socketPath });
  try {
    const info = (await client.info({ timeoutMs: 10_000 })) as { sidecar: { configPath: string; pid: number } };
    assert.equal(info.sidecar.pid, second.pid, 'the second sidecar still answers on the path');
  } finally {
    client.close();
  }
  assert.equal(await second.stop(), 0);
  await assert.rejects(lstat(paths.socketPath), /ENOENT/, 'its own socket it removes');
});

test('a socket path over the OS limit is refused up front, naming the limit and the path', async (t) => {
  if (process.platform === 'win32') return t.skip('named pipes have no path limit of this kind');
  const paths = await testPaths(t);
  const limit = process.platform === 'linux' ? 107 : 103;
  const dir = path.join(paths.dir, 'd'.repeat(Math.max(1, limit - paths.dir.length - 8)));
  const socketPath = path.join(dir, 'x'.repeat(limit + 1 - dir.length - 1));
  assert.equal(Buffer.byteLength(socketPath), limit + 1);
  const serve = await runNode(CLI, ['serve', '--config', paths.configPath, '--socket', socketPath]);
  assert.equal(serve.code, 1, serve.stderr);
  assert.ok(serve.stderr.includes(`socket path is ${limit + 1} bytes, over the ${limit}-byte limit`), serve.stderr);
  assert.ok(serve.stderr.includes(socketPath), 'names the path');
  assert.doesNotMatch(serve.stderr, /ENOENT|chmod/);
  await assert.rejects(lstat(dir), /ENOENT/, 'nothing was created for it');

  // One byte shorter fits, and serves.
  const fits = await startSidecar(t, { ...paths, socketPath: socketPath.slice(0, -1) });
  assert.equal(await fits.stop(), 0);
});

