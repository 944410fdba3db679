// The CLI as scripts use it: output formats and exit codes (README.md, CLI).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('get / set / unset / dump / health, with their exit codes', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);

  assert.equal((await cli('set', 'server.port', '8080')).code, 0);
  assert.equal((await cli('set', 'server.name', 'alpha')).code, 0);
  assert.equal((await cli('set', 'server.label', '8080', '--string')).code, 0);

  assert.equal((await cli('get', 'server.port')).stdout, '8080\n');
  assert.equal((await cli('get', 'server.name')).stdout, 'alpha\n', 'plain strings print raw');
  assert.equal((await cli('get', 'server.name', '--json')).stdout, '"alpha"\n');
  assert.equal((await cli('get', 'server.label', '--json')).stdout, '"8080"\n', '--string keeps JSON-looking text a string');
  assert.deepEqual(JSON.parse((await cli('dump')).stdout), { server: { port: 8080, name: 'alpha', label: '8080' } });

  const missing = await cli('get', 'nope');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /NOT_FOUND: nope does not exist/);

  const conflict = await cli('set', 'server.port', '1', '--if-mod-revision', '1');
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /CONFLICT/);
  const structured = await cli('set', 'server.port', '1', '--if-mod-revision', '1', '--json');
  assert.equal(JSON.parse(structured.stderr).error.code, 'CONFLICT');

  const created = await cli('set', 'fresh', 'true', '--if-mod-revision', '0');
  assert.equal(created.code, 0, created.stderr);

  const badPath = await cli('set', 'a.__proto__.x', '1');
  assert.equal(badPath.code, 1);
  assert.match(badPath.stderr, /BAD_REQUEST.*__proto__/);

  assert.equal((await cli('unset', 'server.label')).code, 0);
  assert.equal((await cli('get', 'server.label')).code, 1);

  const health = await cli('health');
  assert.equal(health.code, 0);
  assert.equal(JSON.parse(health.stdout).status, 'ok');
});

test('usage errors exit 2; an unreachable sidecar exits 3', async (t) => {
  const paths = await testPaths(t);
  assert.equal((await runNode(CLI, [])).code, 2);
  assert.equal((await runNode(CLI, ['frobnicate'])).code, 2);
  assert.equal((await runNode(CLI, ['set', 'only-path'])).code, 2);
  assert.equal((await runNode(CLI, ['get', '--timeout', 'soon'])).code, 2);

  const nobody = path.join(paths.dir, 'nobody.sock');
  const unreachable = await runNode(CLI, ['get', 'x', '--socket', nobody, '--timeout', '500']);
  assert.equal(unreachable.code, 3);
  assert.match(unreachable.stderr, /UNAVAILABLE/);
  assert.equal((await runNode(CLI, ['health', '--socket', nobody, '--timeout', '500'])).code, 3);
});
