// The systemd units: `systemd-analyze verify` accepts them without a single
// warning (with ExecStart pointed at this build, since verify checks the
// binary exists), the system unit's sandbox scores as safe, and both serve
// exactly the paths the CLI and clients look for by default.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defaultConfigPath, defaultSocketPath, type PathContext } from '../../protocol/index.js';
import { CLI } from '../helpers/paths.js';
import { testPaths } from '../helpers/temp-dir.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SYSTEM_UNIT = path.join(REPO, 'systemd/system/config-sidecar.service');
const USER_UNIT = path.join(REPO, 'systemd/user/config-sidecar.service');
const USER_SANDBOX = path.join(REPO, 'systemd/user/config-sidecar.service.d/sandbox.conf');
const SYSUSERS = path.join(REPO, 'systemd/sysusers.d/config-sidecar.conf');

interface Run {
  code: number;
  output: string;
}

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(error);
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), output: `${stdout}${stderr}` });
    });
  });
}

async function skipWithoutSystemdAnalyze(t: TestContext): Promise<boolean> {
  const probe = await run('systemd-analyze', ['--version']).catch((error: Error) => error);
  if (probe instanceof Error || probe.code !== 0) {
    t.skip(`systemd-analyze is not installed (.ci/run installs Debian's systemd package when it can): ${probe instanceof Error ? probe.message : probe.output}`);
    return true;
  }
  return false;
}

/** Section → key → values, in order (a key may repeat). Comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section !== null) {
      current = sections.get(section[1]!) ?? new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current !== undefined && eq > 0, `not a unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/** The one value of `key` in [Service] (the last one counts, as in systemd). */
function service(unit: Map<string, Map<string, string[]>>, key: string): string | undefined {
  return unit.get('Service')?.get(key)?.at(-1);
}

/** A copy of the unit whose ExecStart runs this build's CLI with this Node (verify needs an existing executable). */
async function withThisBuild(unitPath: string, dir: string): Promise<string> {
  const text = await readFile(unitPath, 'utf8');
  const rewritten = text.replace(/^ExecStart=config-sidecar /m, `ExecStart=${process.execPath} ${CLI} `);
  assert.notEqual(rewritten, text, 'ExecStart runs config-sidecar');
  await mkdir(dir, { recursive: true });
  const copy = path.join(dir, path.basename(unitPath));
  await writeFile(copy, rewritten);
  return copy;
}

describe('systemd-analyze', () => {
  test('verify: the system unit, without a warning; its sandbox is rated safe (exposure at most 2.0)', async (t) => {
    if (await skipWithoutSystemdAnalyze(t)) return;
    const { dir } = await testPaths(t);
    const unit = await withThisBuild(SYSTEM_UNIT, path.join(dir, 'system'));
    assert.deepEqual(await run('systemd-analyze', ['verify', '--man=no', unit]), { code: 0, output: '' });
    const security = await run('systemd-analyze', ['security', '--offline=yes', '--threshold=20', unit]);
    assert.equal(security.code, 0, security.output);

    // The check can fail: a misspelt hardening option is reported.
    await writeFile(unit, (await readFile(unit, 'utf8')).replace('ProtectSystem=strict', 'ProtectSystm=strict'));
    assert.match((await run('systemd-analyze', ['verify', '--man=no', unit])).output, /Unknown key 'ProtectSystm'/);
  });

  test('verify --user: the user unit with its sandbox drop-in, without a warning', async (t) => {
    if (await skipWithoutSystemdAnalyze(t)) return;
    const { dir } = await testPaths(t);
    const unit = await withThisBuild(USER_UNIT, path.join(dir, 'user'));
    await mkdir(`${unit}.d`);
    await writeFile(path.join(`${unit}.d`, 'sandbox.conf'), await readFile(USER_SANDBOX));
    // A user manager needs a runtime directory and a home; these are throwaway ones.
    await mkdir(path.join(dir, 'run'), { mode: 0o700 });
    await mkdir(path.join(dir, 'home'));
    const env = { XDG_RUNTIME_DIR: path.join(dir, 'run'), HOME: path.join(dir, 'home') };
    assert.deepEqual(await run('systemd-analyze', ['--user', 'verify', '--man=no', unit], env), { code: 0, output: '' });

    // The drop-in is read too: a fault in it is reported.
    await writeFile(path.join(`${unit}.d`, 'sandbox.conf'), '[Service]\nPrivateTmpp=yes\n');
    assert.match((await run('systemd-analyze', ['--user', 'verify', '--man=no', unit], env)).output, /Unknown key 'PrivateTmpp'/);
  });
});

describe('systemd-sysusers', () => {
  test('creates the user and group the system unit runs as', async (t) => {
    if (await skipWithoutSystemdAnalyze(t)) return;
    const { dir } = await testPaths(t);
    // An empty root directory: the real /etc is not touched.
    await mkdir(path.join(dir, 'etc'));
    const created = await run('systemd-sysusers', [`--root=${dir}`, SYSUSERS]);
    assert.equal(created.code, 0, created.output);
    const unit = parseUnit(await readFile(SYSTEM_UNIT, 'utf8'));
    const user = service(unit, 'User');
    const group = service(unit, 'Group');
    assert.match(await readFile(path.join(dir, 'etc', 'passwd'), 'utf8'), new RegExp(`^${user}:x:\\d+:\\d+:[^:]*:/var/lib/config-sidecar:`, 'm'));
    assert.match(await readFile(path.join(dir, 'etc', 'group'), 'utf8'), new RegExp(`^${group}:x:\\d+:`, 'm'));
  });
});

describe('unit contents', () => {
  test('both: Type=notify with watchdog, restart on failure, reload by SIGHUP, a runtime directory for the socket only the service can write', async () => {
    for (const file of [SYSTEM_UNIT, USER_UNIT]) {
      const unit = parseUnit(await readFile(file, 'utf8'));
      const where = path.relative(REPO, file);
      assert.equal(service(unit, 'Type'), 'notify', where);
      // systemd-notify is a child process: NotifyAccess=main would drop its messages for an unprivileged service.
      assert.equal(service(unit, 'NotifyAccess'), 'all', where);
      assert.match(service(unit, 'WatchdogSec') ?? '', /^\d+s$/, where);
      assert.equal(service(unit, 'Restart'), 'on-failure', where);
      assert.equal(service(unit, 'ExecReload'), '/bin/kill -HUP $MAINPID', where);
      assert.equal(service(unit, 'NoNewPrivileges'), 'yes', where);
      assert.equal(service(unit, 'RuntimeDirectory'), 'config-sidecar', where);
      assert.equal(service(unit, 'RuntimeDirectoryMode'), file === SYSTEM_UNIT ? '0755' : '0700', where);
      assert.equal(service(unit, 'MemoryDenyWriteExecute'), undefined, `${where}: V8's JIT needs writable executable memory`);
      assert.match(service(unit, 'ExecStart') ?? '', /^config-sidecar serve --config \S+ --socket %t\/config-sidecar\/sidecar\.sock( |$)/, where);
    }
  });

  test('system: a read-only system but for its state directory, which holds the config', async () => {
    const unit = parseUnit(await readFile(SYSTEM_UNIT, 'utf8'));
    assert.equal(service(unit, 'ProtectSystem'), 'strict');
    assert.equal(service(unit, 'ProtectHome'), 'yes');
    assert.equal(service(unit, 'PrivateTmp'), 'yes');
    assert.equal(service(unit, 'StateDirectory'), 'config-sidecar');
    assert.match(service(unit, 'ExecStart')!, / --config %S\/config-sidecar\/config\.json /);
    assert.equal(unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target');
  });

  test('system: shared by a group (0660 main socket) and a readers\' group on a read-only socket the service may give that group', async () => {
    const unit = parseUnit(await readFile(SYSTEM_UNIT, 'utf8'));
    const execStart = service(unit, 'ExecStart')!;
    assert.match(execStart, / --socket-mode 0660 --socket-group config-sidecar /);
    assert.match(execStart, / --read-only-socket %t\/config-sidecar\/readonly\.sock --read-only-socket-mode 0660 --read-only-socket-group config-sidecar-readers$/);
    assert.equal(service(unit, 'SupplementaryGroups'), 'config-sidecar-readers');
    assert.match(await readFile(SYSUSERS, 'utf8'), /^g config-sidecar-readers -$/m);
  });

  test('user: the same config and socket paths the CLI picks by default, and a sandbox drop-in that keeps the config directory writable', async () => {
    const unit = parseUnit(await readFile(USER_UNIT, 'utf8'));
    const execStart = service(unit, 'ExecStart')!;
    // %E is $XDG_CONFIG_HOME (else ~/.config) in a user manager, %t is $XDG_RUNTIME_DIR.
    const ctx: PathContext = { platform: 'linux', env: { XDG_CONFIG_HOME: '/home/u/.config', XDG_RUNTIME_DIR: '/run/user/1000' }, home: '/home/u', tmpdir: '/tmp', uid: 1000, user: 'u' };
    const expand = (value: string) => value.replace('%E', ctx.env.XDG_CONFIG_HOME!).replace('%t', ctx.env.XDG_RUNTIME_DIR!);
    const [, config, socket] = /--config (\S+) --socket (\S+)/.exec(execStart)!;
    assert.equal(expand(config!), defaultConfigPath('config-sidecar', ctx));
    assert.equal(expand(socket!), defaultSocketPath('config-sidecar', ctx));
    assert.equal(unit.get('Install')?.get('WantedBy')?.[0], 'default.target');

    const sandbox = parseUnit(await readFile(USER_SANDBOX, 'utf8'));
    assert.equal(service(sandbox, 'ProtectSystem'), 'strict');
    assert.equal(service(sandbox, 'PrivateTmp'), 'yes');
    assert.equal(service(sandbox, 'PrivateUsers'), 'yes', 'mount namespaces in a user manager need a user namespace');
    assert.equal(service(sandbox, 'ReadWritePaths'), path.posix.dirname(config!));
    assert.equal(service(sandbox, 'ConfigurationDirectory'), 'config-sidecar', 'created before the namespace needs it');
  });
});
