// Whole-document and listing commands of the CLI: list, load [--merge],
// get --default, unset --all, and --json on the errors of each.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

type ErrorLine = { error: { code: string; message: string; hint?: string } };

test('list prints the keys under a path, one per line', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);
  assert.equal((await cli('set', 'server', '{"port": 1, "host": "h", "a.b": true}')).code, 0);
  assert.equal((await cli('set', 'dirs', '["/x", "/y"]')).code, 0);

  assert.equal((await cli('list')).stdout, 'server\ndirs\n');
  assert.equal((await cli('list', 'server')).stdout, 'port\nhost\na.b\n');
  assert.equal((await cli('list', 'dirs')).stdout, '0\n1\n');
  assert.deepEqual(JSON.parse((await cli('list', 'server', '--json')).stdout), ['port', 'host', 'a.b']);

  const scalar = await cli('list', 'server.port');
  assert.equal(scalar.code, 1);
  assert.match(scalar.stderr, /server\.port is a number, not an object or array/);
  const missing = await cli('list', 'nope', '--json');
  assert.equal(missing.code, 1);
  assert.equal((JSON.parse(missing.stderr) as ErrorLine).error.code, 'NOT_FOUND');
});

test('load FILE replaces the document in one revision; --merge keeps what the file does not mention', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (args: string[], input?: string) => runNode(CLI, [...args, '--socket', paths.socketPath], input === undefined ? {} : { input });
  const revision = async (args: string[], input?: string) => {
    const result = await cli([...args, '--json'], input);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as { revision: number }).revision;
  };
  const before = await revision(['set', 'old', '"gone soon"']);

  const whole = path.join(paths.dir, 'whole.json');
  await writeFile(whole, JSON.stringify({ server: { port: 8080, tls: { on: false, cert: '/c' } }, mode: 'a' }));
  assert.equal(await revision(['load', whole]), before + 1, 'the whole document is one revision');
  assert.deepEqual(JSON.parse((await cli(['dump', '--json'])).stdout), { server: { port: 8080, tls: { on: false, cert: '/c' } }, mode: 'a' });

  const patch = JSON.stringify({ server: { tls: { on: true }, hosts: ['x'] }, 'dotted.key': 1, empty: {} });
  assert.equal(await revision(['load', '-', '--merge'], patch), before + 2, 'a merge is one revision too');
  assert.deepEqual(JSON.parse((await cli(['dump', '--json'])).stdout), {
    server: { port: 8080, tls: { on: true, cert: '/c' }, hosts: ['x'] },
    mode: 'a',
    'dotted.key': 1,
    empty: {},
  });

  const notJson = path.join(paths.dir, 'bad.json');
  await writeFile(notJson, '{"a": 1,,}');
  const bad = await cli(['load', notJson]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad\.json: invalid JSON.*line 1 column 9/);
  const array = await cli(['load', '-', '--json'], '[1, 2]');
  assert.equal(array.code, 2);
  assert.match((JSON.parse(array.stderr) as ErrorLine).error.message, /holds an array: the document is a JSON object/);
  const big = await cli(['load', '-'], '{"id": 18446744073709551615}');
  assert.equal(big.code, 2);
  assert.match(big.stderr, /18446744073709551615/);
  assert.equal(await revision(['load', '-', '--merge'], '{}'), before + 2, 'nothing to merge makes no revision');
});

test('get --default answers for a missing path only; get of a missing path exits 1', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);
  assert.equal((await cli('set', 'name', 'alice')).code, 0);

  assert.equal((await cli('get', 'name', '--default', 'bob')).stdout, 'alice\n');
  assert.equal((await cli('get', 'nick', '--default', 'bob')).stdout, 'bob\n');
  assert.equal((await cli('get', 'nick', '--default', 'bob', '--json')).stdout, '"bob"\n');
  assert.equal((await cli('get', 'port', '--default', '8080', '--json')).stdout, '8080\n');
  const missing = await cli('get', 'nick');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /NOT_FOUND/);
  const badPath = await cli('get', 'a..b', '--default', '1');
  assert.equal(badPath.code, 1, 'a bad path is not "missing"');
});

test("unset '' needs --all; unset --all empties the document", async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);
  assert.equal((await cli('set', 'a', '1')).code, 0);

  const refused = await cli('unset', '');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--all/);
  assert.equal((await cli('unset')).code, 2);
  assert.equal((await cli('unset', 'a', '--all')).code, 2);
  assert.deepEqual(JSON.parse((await cli('dump')).stdout), { a: 1 }, 'nothing was removed');

  const all = await cli('unset', '--all', '--json');
  assert.equal(all.code, 0, all.stderr);
  assert.equal((JSON.parse(all.stdout) as { existed: boolean }).existed, true);
  assert.deepEqual(JSON.parse((await cli('dump')).stdout), {});
});

test('--json: every failing command reports one JSON line on stderr', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath, '--json']);
  const cases: { args: string[]; code: string; exit: number }[] = [
    { args: ['restore', '7'], code: 'NOT_FOUND', exit: 1 },
    { args: ['restore', 'x'], code: 'USAGE', exit: 2 },
    { args: ['set', 'a.__proto__.b', '1'], code: 'BAD_REQUEST', exit: 1 },
    { args: ['watch', 'a..b'], code: 'BAD_REQUEST', exit: 1 },
    { args: ['dump', 'extra'], code: 'USAGE', exit: 2 },
    { args: ['get', 'x'], code: 'NOT_FOUND', exit: 1 },
  ];
  for (const { args, code, exit } of cases) {
    const result = await cli(...args);
    assert.equal(result.code, exit, `${args.join(' ')}: ${result.stderr}`);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: one line: ${result.stderr}`);
    assert.equal((JSON.parse(lines[0]!) as ErrorLine).error.code, code, args.join(' '));
  }
  const unreachable = await runNode(CLI, ['dump', '--socket', path.join(paths.dir, 'nobody.sock'), '--json']);
  assert.equal(unreachable.code, 3);
  assert.equal((JSON.parse(unreachable.stderr) as ErrorLine).error.code, 'UNAVAILABLE');
});
