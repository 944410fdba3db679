// The CLI's command line itself: --version, a help page per command, usage
// errors in one line with a hint (JSON with --json), options a command does not
// take refused. No sidecar is needed: none of this may connect anywhere.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const COMMANDS = ['serve', 'get', 'set', 'unset', 'list', 'dump', 'load', 'watch', 'health', 'info', 'stats', 'backups', 'restore'];

test('--version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(path.join(path.dirname(CLI), '..', '..', 'package.json'), 'utf8')) as { version: string };
  const result = await runNode(CLI, ['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `config-sidecar ${pkg.version}\n`);
});

test('every command has its own help page; the overview lists them all', async () => {
  const overview = await runNode(CLI, ['--help']);
  assert.equal(overview.code, 0);
  const pages = new Set<string>();
  for (const command of COMMANDS) {
    assert.match(overview.stdout, new RegExp(`^  ${command} `, 'm'), `the overview lists ${command}`);
    const page = await runNode(CLI, [command, '--help']);
    assert.equal(page.code, 0, page.stderr);
    assert.match(page.stdout, new RegExp(`^usage: config-sidecar ${command}\\b`), `${command} --help is its own page`);
    assert.equal((await runNode(CLI, ['help', command])).stdout, page.stdout, `help ${command} is the same page`);
    pages.add(page.stdout);
  }
  assert.equal(pages.size, COMMANDS.length, 'no two commands share a page');
  assert.match((await runNode(CLI, ['set', '--help'])).stdout, /--file F/);
  assert.doesNotMatch((await runNode(CLI, ['get', '--help'])).stdout, /--prometheus/, "get's page shows no option of another command");
});

test('a usage error is one line and a hint, exit 2; --json makes it a JSON line', async () => {
  const cases: { args: string[]; says: RegExp; hint: string }[] = [
    { args: [], says: /no command given/, hint: "try 'config-sidecar --help'" },
    { args: ['frobnicate'], says: /unknown command "frobnicate"/, hint: "try 'config-sidecar --help'" },
    { args: ['get', 'a', '--bogus'], says: /unknown option --bogus/, hint: "try 'config-sidecar get --help'" },
    { args: ['set', 'a', '1', '2'], says: /set takes 1 to 2 arguments, got 3/, hint: "try 'config-sidecar set --help'" },
    { args: ['get', '--timeout', 'soon'], says: /--timeout must be a positive integer/, hint: "try 'config-sidecar get --help'" },
    { args: ['restore', 'latest'], says: /restore takes a backup number/, hint: "try 'config-sidecar restore --help'" },
  ];
  for (const { args, says, hint } of cases) {
    const text = await runNode(CLI, args);
    assert.equal(text.code, 2, `${args.join(' ')}: ${text.stderr}`);
    assert.equal(text.stdout, '');
    const lines = text.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, `one line and a hint, not the whole page: ${text.stderr}`);
    assert.match(lines[0]!, says);
    assert.equal(lines[1], hint);
    if (args.length === 0) continue;
    const json = await runNode(CLI, [...args, '--json']);
    assert.equal(json.code, 2);
    const error = (JSON.parse(json.stderr) as { error: { code: string; message: string; hint: string } }).error;
    assert.equal(error.code, 'USAGE');
    assert.match(error.message, says);
    assert.equal(error.hint, hint);
  }
});

test('options that do not apply to a command are refused, naming where they belong', async () => {
  const cases: { args: string[]; says: RegExp }[] = [
    { args: ['get', 'a', '--prometheus'], says: /--prometheus does not apply to get \(it is an option of stats\)/ },
    { args: ['set', 'a', '1', '--merge'], says: /--merge does not apply to set \(it is an option of load\)/ },
    { args: ['serve', '--if-mod-revision', '3'], says: /--if-mod-revision does not apply to serve/ },
    { args: ['dump', '--string'], says: /--string does not apply to dump/ },
    { args: ['get', 'a', '--config', 'x.json'], says: /--config .* goes with --auto-start/ },
  ];
  for (const { args, says } of cases) {
    const result = await runNode(CLI, args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, says);
  }
});

test('serve --json reports a failed start as one JSON line', async (t) => {
  const paths = await testPaths(t);
  const result = await runNode(CLI, ['serve', '--config', paths.configPath, '--socket', paths.socketPath, '--schema', path.join(paths.dir, 'missing.mjs'), '--json']);
  assert.equal(result.code, 1);
  // The sidecar's own log lines (JSON too) may come before or after it.
  const line = result.stderr.split('\n').find((text) => text.startsWith('{"error":'));
  assert.ok(line !== undefined, result.stderr);
  const error = (JSON.parse(line) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, 'CANNOT_START');
  assert.match(error.message, /missing\.mjs/);
});

test('the compile cache never holds the CLI up: a home it cannot create a cache in is skipped', { skip: process.platform !== 'linux' && 'a home under /proc' }, async (t) => {
  const paths = await testPaths(t);
  // Node's recursive mkdir never returns for a missing directory under /proc; a home that does not exist is not created.
  for (const home of ['/proc/no-such-home', path.join(paths.dir, 'missing-home')]) {
    const result = await runNode(CLI, ['get', 'x', '--socket', path.join(paths.dir, 'nobody.sock')], { env: { HOME: home, XDG_CACHE_HOME: '' }, timeoutMs: 20_000 });
    assert.equal(result.code, 3, result.stderr);
    await assert.rejects(readFile(home), /ENOENT/, `${home} was not created`);
  }
});
