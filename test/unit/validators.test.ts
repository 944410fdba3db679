// Each shipped validator at its boundary, with the message a user sees.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { boundedArray, boundedString, executableFile, existingDirectory, loginShell, port, regexPattern, url } from '../../validators/index.js';

async function messages(schema: z.ZodType, value: unknown): Promise<string[]> {
  const result = await schema.safeParseAsync(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

test('existingDirectory: absolute, existing, a directory; read as its canonical path', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-validators-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const real = path.join(dir, 'real');
  await mkdir(real);
  await symlink(real, path.join(dir, 'link'));
  await writeFile(path.join(dir, 'file'), '');
  const schema = existingDirectory();
  const canonical = await realpath(real);
  assert.equal(await schema.parseAsync(path.join(dir, 'link')), canonical, 'symlinks resolved');
  assert.equal(await schema.parseAsync(`${real}/../real`), canonical, '.. removed');
  assert.deepEqual(await messages(schema, '../../etc'), ['"../../etc" is not an absolute path']);
  assert.deepEqual(await messages(schema, path.join(dir, 'missing')), [`"${path.join(dir, 'missing')}" is not a usable directory: it does not exist`]);
  assert.deepEqual(await messages(schema, path.join(dir, 'file')), [`"${path.join(dir, 'file')}" is not a directory`]);
  assert.deepEqual(await messages(schema, 42), ['Invalid input: expected string, received number']);
});

test('executableFile: an absolute regular file with an execute bit (docs/defects.md, D16: /dev/null is no shell)', { skip: process.platform === 'win32' && 'POSIX permissions' }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-validators-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'tool');
  await writeFile(script, '#!/bin/sh\n');
  const schema = executableFile();
  assert.deepEqual(await messages(schema, '/dev/null'), ['"/dev/null" is not a regular file']);
  assert.deepEqual(await messages(schema, 'sh'), ['"sh" is not an absolute path']);
  assert.deepEqual(await messages(schema, dir), [`"${dir}" is not a regular file`]);
  assert.deepEqual(await messages(schema, path.join(dir, 'nope')), [`"${path.join(dir, 'nope')}" is not an executable file: it does not exist`]);
  await chmod(script, 0o644);
  // root may execute anything with at least one execute bit: with none at all, no one may.
  assert.deepEqual(await messages(schema, script), [`"${script}" is not an executable file: permission denied`]);
  await chmod(script, 0o755);
  assert.deepEqual(await messages(schema, script), []);
});

test('regexPattern: compiles, or says why not', async () => {
  const schema = regexPattern();
  assert.deepEqual(await messages(schema, '^rm -rf'), []);
  const [message] = await messages(schema, 'rm -rf (');
  assert.match(message!, /^not a valid regular expression: Invalid regular expression: \/rm -rf \(\/: Unterminated group/);
  assert.deepEqual(await messages(regexPattern({ flags: 'u' }), '\\p{L}+'), []);
  assert.deepEqual(await messages(regexPattern({ maxLength: 3 }), 'abcd'), ['is 4 characters long; at most 3 are allowed']);
});

test('boundedArray and boundedString: the limit passes, one more fails naming both numbers', async () => {
  const list = boundedArray(boundedString({ max: 3, min: 1 }), { max: 2 });
  assert.deepEqual(await messages(list, ['a', 'bbb']), []);
  assert.deepEqual(await messages(list, ['a', 'b', 'c']), ['has 3 items; at most 2 are allowed']);
  assert.deepEqual(await messages(list, ['abcd']), ['is 4 characters long; at most 3 are allowed']);
  assert.deepEqual(await messages(list, ['']), ['is 0 characters long; at least 1 are needed']);
  assert.deepEqual(await messages(boundedArray(boundedString({ max: 1 }), { max: 5, min: 1 }), []), ['has 0 items; at least 1 are needed']);
  // The count is checked before the items: a list too long to be allowed is not checked on disk item by item.
  assert.deepEqual(await messages(boundedArray(existingDirectory(), { max: 1 }), ['/nonexistent/a', '/nonexistent/b']), ['has 2 items; at most 1 are allowed']);
});

test('port: integers 1..65535 (0 only when allowed)', async () => {
  const schema = port();
  for (const ok of [1, 80, 65535]) assert.deepEqual(await messages(schema, ok), [], String(ok));
  for (const bad of [0, 65536, 80.5, -1]) assert.deepEqual(await messages(schema, bad), [`${bad} is not a port: expected an integer from 1 to 65535`]);
  assert.deepEqual(await messages(port({ allowZero: true }), 0), []);
  assert.deepEqual(await messages(schema, -1.5), ['-1.5 is not a port: expected an integer from 1 to 65535'], 'one message for two broken rules');
  assert.deepEqual(await messages(schema, '80'), ['Invalid input: expected number, received string']);
});

test('url: absolute, with an allowed scheme', async () => {
  assert.deepEqual(await messages(url(), 'https://example.org/x'), []);
  assert.deepEqual(await messages(url(), 'example.org'), ['"example.org" is not an absolute URL']);
  assert.deepEqual(await messages(url(), 'ftp://example.org'), ['"ftp://example.org" uses ftp:, not one of http, https']);
  assert.deepEqual(await messages(url({ protocols: ['ws', 'wss'] }), 'wss://example.org'), []);
});

/** What an editor sees for `schema` in config.schema.json (as the sidecar asks zod for it). */
function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

test('each validator puts what zod checks into its JSON Schema, and describes what it cannot', () => {
  assert.deepEqual(jsonSchemaOf(port()), { type: 'integer', minimum: 1, maximum: 65535 });
  assert.deepEqual(jsonSchemaOf(port({ allowZero: true })), { type: 'integer', minimum: 0, maximum: 65535 });
  assert.deepEqual(jsonSchemaOf(boundedString({ max: 3, min: 1 })), { type: 'string', minLength: 1, maxLength: 3 });
  assert.deepEqual(jsonSchemaOf(boundedArray(z.string(), { max: 2, min: 1 })), { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string' } });
  assert.deepEqual(jsonSchemaOf(regexPattern({ flags: 'u', maxLength: 50 })), { type: 'string', maxLength: 50, description: 'a JavaScript regular expression with flags "u"' });
  assert.deepEqual(jsonSchemaOf(url({ protocols: ['ws', 'wss'] })), { type: 'string', description: 'an absolute URL (ws:, wss:)' });
  // "absolute" is a pattern on POSIX, where it is exactly "starts with /"; the disk is described.
  const absolute = process.platform === 'win32' ? {} : { pattern: '^\\/' };
  assert.deepEqual(jsonSchemaOf(existingDirectory()), {
    type: 'string',
    ...absolute,
    description: 'an absolute path to an existing, readable directory (checked when written; read back with symlinks resolved)',
  });
  assert.deepEqual(jsonSchemaOf(executableFile()), { type: 'string', ...absolute, description: 'an absolute path to an executable regular file (checked when written)' });
  assert.match(String(jsonSchemaOf(loginShell()).description), /^an absolute path to a login shell: executable, listed in \/etc\/shells/);
  // A description of the user's own replaces the validator's.
  assert.equal(jsonSchemaOf(existingDirectory().describe('where the logs go')).description, 'where the logs go');
});
