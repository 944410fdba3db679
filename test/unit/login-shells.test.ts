// Shells are shells: a shell setting or a detected shell must be executable,
// listed in /etc/shells where that file exists, and not /bin/false or
// nologin — each rejection with its reason. Before, SHELL=/bin/false was
// reported as the user's shell and executableFile() took /usr/sbin/nologin.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { z } from 'zod';
import { detectShell } from '../../sidecar/ops/user-shell.js';
import { loginShell } from '../../validators/index.js';
import { loginShellProblem } from '../../validators/login-shells.js';

const posixOnly = { skip: process.platform === 'win32' && 'no /etc/shells or execute bits' };

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-shells-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function executable(dir: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, '#!/bin/sh\n');
  await chmod(file, 0o755);
  return file;
}

async function messages(schema: z.ZodType, value: unknown): Promise<string[]> {
  const result = await schema.safeParseAsync(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

test('a program must be listed in the shells file; a listed path through a symlinked directory counts', posixOnly, async (t) => {
  const dir = await tempDir(t);
  const shell = await executable(dir, 'mysh');
  const tool = await executable(dir, 'tool');
  await symlink(dir, path.join(dir, 'link'));
  const shells = path.join(dir, 'shells');
  await writeFile(shells, `# valid login shells\n${path.join(dir, 'link', 'mysh')}\n\n/bin/missing-shell\n`);
  assert.equal(await loginShellProblem(shell, shells), undefined, 'listed under another name for the same file');
  assert.equal(await loginShellProblem(tool, shells), `not listed in ${shells}`);
});

test('false, true and nologin are refused by name, also where there is no shells file', posixOnly, async (t) => {
  const dir = await tempDir(t);
  const none = path.join(dir, 'no-such-shells-file');
  for (const name of ['false', 'nologin', 'true']) {
    const file = await executable(dir, name);
    assert.equal(await loginShellProblem(file, none), `${name} refuses logins; it is not a shell`);
  }
  assert.equal(await loginShellProblem(await executable(dir, 'anysh'), none), undefined, 'without the file, any executable that is not a refuser');
});

test('loginShell(): /bin/false and nologin are rejected with the reason, /bin/sh passes', posixOnly, async (t) => {
  const schema = loginShell();
  assert.deepEqual(await messages(schema, '/bin/sh'), []);
  assert.deepEqual(await messages(schema, '/bin/false'), ['"/bin/false" is not a login shell: false refuses logins; it is not a shell']);
  const dir = await tempDir(t);
  const nologin = path.join(dir, 'nologin'); // /usr/sbin/nologin on Debian, /sbin/nologin elsewhere
  await executable(dir, 'nologin');
  assert.deepEqual(await messages(schema, nologin), [`"${nologin}" is not a login shell: nologin refuses logins; it is not a shell`]);
  assert.deepEqual(await messages(schema, '/dev/null'), ['"/dev/null" is not a regular file'], 'the executableFile() checks still come first');
  const tool = await executable(dir, 'tool');
  assert.deepEqual(await messages(schema, tool), [`"${tool}" is not a login shell: not listed in /etc/shells`]);
});

test('detection passes over non-shells with the reason and takes the first real one', posixOnly, async (t) => {
  const dir = await tempDir(t);
  const tool = await executable(dir, 'tool');
  const result = await detectShell([
    { path: '/bin/false', source: 'SHELL' },
    { path: tool, source: 'passwd' },
    { path: '/bin/sh', source: 'fallback' },
  ]);
  assert.deepEqual(result.rejected, [
    { path: '/bin/false', source: 'SHELL', reason: 'false refuses logins; it is not a shell' },
    { path: tool, source: 'passwd', reason: 'not listed in /etc/shells' },
  ]);
  assert.deepEqual(result.shell, { path: '/bin/sh', source: 'fallback' });
});
