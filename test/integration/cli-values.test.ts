// How `set` reads VALUE: from the argument (negative numbers need no `--`),
// from stdin (`-`) or a file (`--file F`); numbers JSON would round are refused
// with a pointer to --string, and nothing is stored then.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('negative numbers are values, not options', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);

  assert.equal((await cli('set', 'offset', '-5')).code, 0);
  assert.equal((await cli('set', 'scale', '-0.25')).code, 0);
  assert.equal((await cli('set', 'label', '-5', '--string')).code, 0);
  assert.deepEqual(JSON.parse((await cli('dump', '--json')).stdout), { offset: -5, scale: -0.25, label: '-5' });
  const fallback = await cli('get', 'missing', '--default', '-1');
  assert.deepEqual({ code: fallback.code, stdout: fallback.stdout }, { code: 0, stdout: '-1\n' }, fallback.stderr);
});

test('integers beyond ±(2^53-1) are refused with a hint to use --string; nothing is stored', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);

  for (const text of ['12345678901234567890', '-9007199254740993', '{"id": 9007199254740993}', '1e400']) {
    const refused = await cli('set', 'id', text);
    assert.equal(refused.code, 2, `${text}: ${refused.stderr}`);
    assert.match(refused.stderr, /cannot set id: VALUE .*(outside the safe integer range|too large for a double)/);
    assert.match(refused.stderr, /--string/);
    assert.equal((await cli('get', 'id')).code, 1, `${text} was not stored`);
  }
  const json = await cli('set', 'id', '12345678901234567890', '--json');
  assert.equal((JSON.parse(json.stderr) as { error: { code: string } }).error.code, 'USAGE');

  assert.equal((await cli('set', 'id', '12345678901234567890', '--string')).code, 0);
  assert.equal((await cli('get', 'id', '--json')).stdout, '"12345678901234567890"\n');
  assert.equal((await cli('set', 'max', String(Number.MAX_SAFE_INTEGER))).code, 0, 'the largest exact integer is fine');
  assert.equal((await cli('get', 'max')).stdout, `${Number.MAX_SAFE_INTEGER}\n`);
});

test('set KEY - reads stdin, set KEY --file F reads a file (one trailing line feed dropped)', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (args: string[], input?: string) => runNode(CLI, [...args, '--socket', paths.socketPath], input === undefined ? {} : { input });

  assert.equal((await cli(['set', 'server', '-'], '{"port": 8080,\n "hosts": ["a", "b"]}\n')).code, 0);
  assert.equal((await cli(['set', 'name', '-'], 'alice\n')).code, 0);
  assert.equal((await cli(['set', 'pem', '-', '--string'], 'line 1\nline 2\n')).code, 0);
  const file = path.join(paths.dir, 'motd.txt');
  await writeFile(file, '"hello"\n');
  assert.equal((await cli(['set', 'motd', '--file', file])).code, 0);
  assert.deepEqual(JSON.parse((await cli(['dump', '--json'])).stdout), {
    server: { port: 8080, hosts: ['a', 'b'] },
    name: 'alice',
    pem: 'line 1\nline 2',
    motd: 'hello',
  });

  const both = await cli(['set', 'motd', 'x', '--file', file]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /VALUE or --file F, not both/);
  const missing = await cli(['set', 'motd', '--file', path.join(paths.dir, 'nope.txt')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read .*nope\.txt: no such file/);
  const none = await cli(['set', 'motd']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /set takes PATH VALUE/);
  const big = await cli(['set', 'n', '-'], '123456789012345678901\n');
  assert.equal(big.code, 2, 'stdin is held to the same exactness');
});
