// config.schema.json, the JSON Schema a real sidecar writes beside the config
// for editors, judged by a JSON Schema validator (ajv): it names the
// validators' constraints, accepts the file the sidecar wrote, and rejects
// each bad value the sidecar refuses, for the same reason. Run for the
// kodegen example schema and for the README's example schema.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { connect, ConfigSidecarError, type ConfigClient } from '../../client/index.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const KODEGEN = path.join(ROOT, 'examples', 'kodegen-server.schema.mjs');
const POSIX = process.platform !== 'win32';

/** A bad value: where it goes, and the JSON Schema keyword that must reject it there. */
interface BadValue {
  at: string;
  value: unknown;
  keyword: string;
}

/** Starts a sidecar on `schemaFile`; returns a client and the validator compiled from the config.schema.json it wrote. */
async function sidecarWithSchema(t: TestContext, paths: TestPaths, schemaFile: string) {
  await startSidecar(t, paths, { extraArgs: ['--schema', schemaFile] });
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  const text = await readFile(path.join(path.dirname(paths.configPath), 'config.schema.json'), 'utf8');
  const json = JSON.parse(text) as Record<string, unknown>;
  // strict: a keyword ajv does not know, or a type it cannot apply, fails the compile.
  const validate = new Ajv2020({ strict: true, allErrors: true }).compile(json);
  return { client, json, validate };
}

function errorsOf(validate: ValidateFunction, doc: unknown): ErrorObject[] {
  return validate(doc) ? [] : (validate.errors ?? []);
}

/** `doc` with `value` at the dotted path `at`. */
function withValue(doc: Record<string, unknown>, at: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(doc);
  const keys = at.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
  return copy;
}

async function refusedBySidecar(client: ConfigClient, at: string, value: unknown): Promise<void> {
  try {
    await client.set(at, value);
  } catch (error) {
    assert.ok(error instanceof ConfigSidecarError && error.code === 'VALIDATION_FAILED', String(error));
    return;
  }
  assert.fail(`the sidecar accepted ${at} = ${JSON.stringify(value)}`);
}

/** Each bad value is refused by the sidecar and rejected by the JSON Schema with `keyword` at its path. */
async function rejectedByBoth(client: ConfigClient, validate: ValidateFunction, good: Record<string, unknown>, bad: BadValue[]): Promise<void> {
  assert.deepEqual(errorsOf(validate, good), [], 'the good document passes');
  for (const { at, value, keyword } of bad) {
    await refusedBySidecar(client, at, value);
    const errors = errorsOf(validate, withValue(good, at, value));
    // At the value or inside it (an item of an array); an unknown key is reported on its parent.
    const where = `/${at.split('.').join('/')}`;
    const matches = (error: ErrorObject) =>
      keyword === 'additionalProperties'
        ? (error.params as { additionalProperty?: string }).additionalProperty === at.split('.').at(-1)
        : error.instancePath === where || error.instancePath.startsWith(`${where}/`);
    assert.ok(
      errors.some((error) => error.keyword === keyword && matches(error)),
      `${at} = ${JSON.stringify(value).slice(0, 40)}: expected "${keyword}" at ${where}, got ${JSON.stringify(errors)}`,
    );
  }
}

test('kodegen example: config.schema.json names the constraints, accepts the written file, rejects what the sidecar refuses', async (t) => {
  const paths = await testPaths(t);
  const { client, json, validate } = await sidecarWithSchema(t, paths, KODEGEN);
  const properties = json.properties as Record<string, Record<string, unknown>>;
  const http = properties.http!.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(http.port, { default: 30437, type: 'integer', minimum: 1, maximum: 65535 });
  assert.equal(properties.client_history!.maxItems, 100);
  assert.deepEqual(properties.blocked_commands!.items, { type: 'string', maxLength: 1000, description: 'a JavaScript regular expression' });
  assert.equal(properties.allowed_directories!.maxItems, 1000);
  assert.match(String((properties.allowed_directories!.items as Record<string, unknown>).description), /existing, readable directory/);
  assert.match(String(properties.default_shell!.description), /executable regular file/);
  assert.equal(http.public_url!.description, 'an absolute URL (http:, https:)');
  const text = JSON.stringify(json, null, 2);
  for (const named of ['"maximum": 65535', '"type": "integer"', '"maxItems": 100', '"maxLength": 1000']) assert.ok(text.includes(named), named);

  // A file the sidecar wrote, with a value for most keys, is accepted as it is on disk.
  await client.set('default_shell', '/bin/sh');
  await client.set('allowed_directories', [paths.dir]);
  await client.set('blocked_commands', ['^rm -rf /$', 'x'.repeat(1000)]);
  await client.set('http.port', 65535);
  await client.set('http.public_url', 'https://example.org/kodegen');
  await client.set('client_history', Array.from({ length: 100 }, (_, i) => ({ name: `c${i}`, version: '1' })));
  await client.set('fuzzy_search_threshold', 0.655);
  await fileCaughtUp(client);
  const written = JSON.parse(await readFile(paths.configPath, 'utf8')) as Record<string, unknown>;
  assert.equal(written.$schemaVersion, 2);
  assert.deepEqual(errorsOf(validate, written), [], 'the file the sidecar wrote');
  assert.deepEqual(errorsOf(validate, {}), [], 'an empty file: every key has a default or is optional');

  await rejectedByBoth(client, validate, written, [
    { at: 'http.port', value: 70000, keyword: 'maximum' },
    { at: 'http.port', value: 0, keyword: 'minimum' },
    { at: 'http.port', value: 1.5, keyword: 'type' },
    { at: 'http.port', value: '8080', keyword: 'type' },
    { at: 'client_history', value: Array.from({ length: 101 }, (_, i) => ({ name: `c${i}`, version: '1' })), keyword: 'maxItems' },
    { at: 'blocked_commands', value: ['x'.repeat(1001)], keyword: 'maxLength' },
    { at: 'current_client', value: { name: 'n'.repeat(201), version: '1' }, keyword: 'maxLength' },
    { at: 'file_read_line_limit', value: 'many', keyword: 'type' },
    { at: 'file_read_line_limit', value: 0, keyword: 'minimum' },
    { at: 'fuzzy_search_threshold', value: 65, keyword: 'maximum' },
    { at: 'editor', value: 'vi', keyword: 'additionalProperties' },
    ...(POSIX ? [{ at: 'default_shell', value: 'bin/sh', keyword: 'pattern' }] : []),
  ]);
});

/** The README's example schema module, its imports pointed at this checkout so it loads from a temp dir. */
async function readmeSchema(dir: string): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```js\n(\/\/ config\.schema\.mjs\n[\s\S]*?)```/.exec(readme);
  assert.ok(block, 'the README has the config.schema.mjs example');
  const source = block[1]!
    .replace(`from 'zod'`, `from ${JSON.stringify(import.meta.resolve('zod'))}`)
    .replace(`from 'config-sidecar/validators'`, `from ${JSON.stringify(new URL('../../validators/index.js', import.meta.url).href)}`);
  assert.ok(!/from '(?!file:)/.test(source), 'every import of the example resolved');
  const file = path.join(dir, 'readme.schema.mjs');
  await writeFile(file, source);
  return file;
}

test("README example: config.schema.json names the constraints, accepts the written file, rejects what the sidecar refuses", async (t) => {
  const paths = await testPaths(t);
  const { client, json, validate } = await sidecarWithSchema(t, paths, await readmeSchema(paths.dir));
  const properties = json.properties as Record<string, Record<string, unknown>>;
  const server = properties.server!.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(server.port, { default: 8080, type: 'integer', minimum: 1, maximum: 65535 });
  assert.equal(properties.roots!.maxItems, 100);
  assert.match(String(properties.shell!.description), /login shell/);

  await client.set('server.port', 1);
  await client.set('server.host', 'example.org');
  await client.set('shell', '/bin/sh');
  await client.set('roots', [paths.dir]);
  await fileCaughtUp(client);
  const written = JSON.parse(await readFile(paths.configPath, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(written.server, { port: 1, host: 'example.org' });
  assert.deepEqual(errorsOf(validate, written), [], 'the file the sidecar wrote');

  await rejectedByBoth(client, validate, written, [
    { at: 'server.port', value: 70000, keyword: 'maximum' },
    { at: 'server.port', value: 1.5, keyword: 'type' },
    { at: 'server.host', value: 42, keyword: 'type' },
    { at: 'roots', value: Array.from({ length: 101 }, () => paths.dir), keyword: 'maxItems' },
    { at: 'port', value: 80, keyword: 'additionalProperties' },
    ...(POSIX ? [{ at: 'shell', value: 'sh', keyword: 'pattern' }] : []),
  ]);
});
