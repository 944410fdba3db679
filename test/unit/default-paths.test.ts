// Default socket and config paths per platform (README.md, "Where files live"), as documented in
// docs/protocol.md: client and sidecar must derive the same ones.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkSocketPathLength, defaultConfigPath, defaultSocketPath, stateDirFor, type PathContext } from '../../protocol/index.js';

const linux = (env: Record<string, string | undefined> = {}): PathContext => ({
  platform: 'linux',
  env,
  home: '/home/ann',
  tmpdir: '/tmp',
  uid: 1000,
  user: 'ann',
});

describe('checkSocketPathLength', () => {
  test('107 bytes pass on Linux and 103 on macOS; one more is refused naming the limit and the path', () => {
    checkSocketPathLength('/' + 'a'.repeat(106), 'linux');
    checkSocketPathLength('/' + 'a'.repeat(102), 'darwin');
    assert.throws(() => checkSocketPathLength('/' + 'a'.repeat(107), 'linux'), /socket path is 108 bytes, over the 107-byte limit of Unix socket paths on Linux \(108 with the terminating NUL\): \/a+/);
    assert.throws(() => checkSocketPathLength('/' + 'a'.repeat(103), 'darwin'), /over the 103-byte limit of Unix socket paths on macOS \(104 with/);
    checkSocketPathLength('\\\\.\\pipe\\' + 'a'.repeat(300), 'win32');
  });

  test('counts UTF-8 bytes, not characters', () => {
    assert.throws(() => checkSocketPathLength('/' + 'é'.repeat(54), 'linux'), /109 bytes/);
  });
});

describe('defaultSocketPath', () => {
  test('Linux: $XDG_RUNTIME_DIR/<app>/sidecar.sock', () => {
    assert.equal(defaultSocketPath('config-sidecar', linux({ XDG_RUNTIME_DIR: '/run/user/1000' })), '/run/user/1000/config-sidecar/sidecar.sock');
  });

  test('Linux without XDG_RUNTIME_DIR: $TMPDIR/<app>-<uid>/sidecar.sock, else the OS temp dir', () => {
    assert.equal(defaultSocketPath('config-sidecar', linux({ TMPDIR: '/var/tmp' })), '/var/tmp/config-sidecar-1000/sidecar.sock');
    assert.equal(defaultSocketPath('config-sidecar', linux()), '/tmp/config-sidecar-1000/sidecar.sock');
  });

  test('a relative XDG_RUNTIME_DIR (or TMPDIR) is ignored, as the XDG spec says: the socket never depends on the working directory', () => {
    assert.equal(defaultSocketPath('config-sidecar', linux({ XDG_RUNTIME_DIR: 'run/user/1000' })), '/tmp/config-sidecar-1000/sidecar.sock');
    assert.equal(defaultSocketPath('config-sidecar', linux({ XDG_RUNTIME_DIR: './run', TMPDIR: 'tmp' })), '/tmp/config-sidecar-1000/sidecar.sock');
    assert.equal(defaultSocketPath('config-sidecar', linux({ XDG_RUNTIME_DIR: 'run', TMPDIR: '/var/tmp' })), '/var/tmp/config-sidecar-1000/sidecar.sock');
  });

  test('macOS ignores XDG_RUNTIME_DIR: $TMPDIR/<app>-<uid>/sidecar.sock', () => {
    const ctx: PathContext = { ...linux({ XDG_RUNTIME_DIR: '/nope', TMPDIR: '/var/folders/xy/T' }), platform: 'darwin' };
    assert.equal(defaultSocketPath('myapp', ctx), '/var/folders/xy/T/myapp-1000/sidecar.sock');
  });

  test('Windows: a named pipe \\\\.\\pipe\\<app>-<user>, unsafe characters in the user name replaced by _', () => {
    const ctx: PathContext = { ...linux(), platform: 'win32', user: 'DOMAIN\\Ann Lee' };
    assert.equal(defaultSocketPath('myapp', ctx), '\\\\.\\pipe\\myapp-DOMAIN_Ann_Lee');
  });

  test('$CONFIG_SIDECAR_SOCKET overrides everything', () => {
    assert.equal(defaultSocketPath('myapp', linux({ CONFIG_SIDECAR_SOCKET: '/srv/s.sock', XDG_RUNTIME_DIR: '/run/user/1000' })), '/srv/s.sock');
  });

  test('app names are checked', () => {
    for (const bad of ['', '../x', 'a/b', '-x', 'x'.repeat(65)]) assert.throws(() => defaultSocketPath(bad, linux()), /app name/);
  });
});

describe('defaultConfigPath', () => {
  test('Linux: $XDG_CONFIG_HOME/<app>/config.json, else ~/.config/<app>/config.json', () => {
    assert.equal(defaultConfigPath('myapp', linux({ XDG_CONFIG_HOME: '/cfg' })), '/cfg/myapp/config.json');
    assert.equal(defaultConfigPath('myapp', linux({ XDG_CONFIG_HOME: 'cfg' })), '/home/ann/.config/myapp/config.json', 'a relative one is ignored');
    assert.equal(defaultConfigPath('myapp', linux()), '/home/ann/.config/myapp/config.json');
  });

  test('macOS: ~/Library/Application Support/<app>/config.json', () => {
    assert.equal(defaultConfigPath('myapp', { ...linux(), platform: 'darwin' }), '/home/ann/Library/Application Support/myapp/config.json');
  });

  test('Windows: %APPDATA%\\<app>\\config.json', () => {
    assert.equal(defaultConfigPath('myapp', { ...linux({ APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }), platform: 'win32' }), 'C:\\Users\\ann\\AppData\\Roaming\\myapp\\config.json');
  });

  test('the state directory sits beside the config file', () => {
    assert.equal(stateDirFor('/home/ann/.config/myapp/config.json'), '/home/ann/.config/myapp/.config.json.sidecar');
  });
});
