// docs/defects.md, D22 and D23: the shell and OS facts were fixed at
// build time, never checked, and saved into the config where they went stale.
// `info` reads them at run time, checks the shell, and never writes them.
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import os from 'node:os';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

interface Info {
  sidecar: { version: string; pid: number; configPath: string };
  system: {
    platform: string;
    kernel: string;
    arch: string;
    hostname: string;
    shell: { shell: { path: string; source: string } | null; rejected: { path: string; source: string; reason: string }[] };
  };
}

test('info reports runtime facts and a checked shell, and never writes them into the config', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths, { env: { SHELL: '/no/such/shell' } });
  assert.equal((await runNode(CLI, ['set', 'app.name', 'demo', '--socket', paths.socketPath])).code, 0);

  const result = await runNode(CLI, ['info', '--socket', paths.socketPath]);
  assert.equal(result.code, 0, result.stderr);
  const info = JSON.parse(result.stdout) as Info;
  assert.equal(info.sidecar.pid, sidecar.pid);
  assert.equal(info.sidecar.configPath, paths.configPath);
  assert.equal(info.system.platform, process.platform);
  assert.equal(info.system.kernel, os.release());
  assert.equal(info.system.hostname, os.hostname());

  // The bogus $SHELL is passed over with its reason; the one chosen really is executable.
  assert.deepEqual(info.system.shell.rejected[0], { path: '/no/such/shell', source: 'SHELL', reason: 'does not exist' });
  assert.ok(info.system.shell.shell !== null);
  assert.notEqual(info.system.shell.shell.source, 'SHELL');
  await access(info.system.shell.shell.path, constants.X_OK);

  const onDisk = await readFile(paths.configPath, 'utf8');
  assert.deepEqual(JSON.parse(onDisk), { app: { name: 'demo' } });
});

test('info passes over SHELL=/bin/false with the reason: a login refuser is not a shell', { skip: process.platform === 'win32' && 'no login shells' }, async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths, { env: { SHELL: '/bin/false' } });
  const result = await runNode(CLI, ['info', '--socket', paths.socketPath]);
  assert.equal(result.code, 0, result.stderr);
  const { shell } = (JSON.parse(result.stdout) as Info).system;
  assert.deepEqual(shell.rejected[0], { path: '/bin/false', source: 'SHELL', reason: 'false refuses logins; it is not a shell' });
  assert.ok(shell.shell !== null && shell.shell.source !== 'SHELL');
});
