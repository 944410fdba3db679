// examples/kodegen-server.schema.mjs against a real sidecar: each value the
// kodegen server accepted unchecked (docs/defects.md, D15-D17) is refused with a
// clear error at the write, and its version-1 file is migrated (D18, D19).
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/kodegen-server.schema.mjs', import.meta.url));

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigSidecarError && error.code === 'VALIDATION_FAILED', String(error));
    return error.message;
  }
  assert.fail('expected VALIDATION_FAILED');
}

test('the kodegen example schema refuses what the kodegen server accepted unchecked, and migrates a version-1 file', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  // Version 1 stored the fuzzy threshold as a percentage (docs/defects.md, D18).
  await writeFile(paths.configPath, JSON.stringify({ fuzzy_search_threshold: 65, allowed_directories: [`${paths.dir}/../${path.basename(paths.dir)}`] }));
  await startSidecar(t, paths, { extraArgs: ['--schema', EXAMPLE] });
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());

  assert.equal(await client.get('fuzzy_search_threshold'), 0.65, 'migrated to a fraction');
  assert.deepEqual(await client.get('allowed_directories'), [paths.dir], 'canonical form (D16)');
  assert.equal(await client.get('file_read_line_limit'), 1000, 'default layer');
  await fileCaughtUp(client); // the migrated document is committed at start and checkpointed to the file behind it
  const file = JSON.parse(await readFile(paths.configPath, 'utf8'));
  assert.equal(file.$schemaVersion, 2);
  assert.equal(file.file_read_line_limit, undefined, 'defaults are not written');

  assert.match(await refusal(client.set('default_shell', '/dev/null')), /default_shell: "\/dev\/null" is not a regular file/); // D16
  assert.match(await refusal(client.set('allowed_directories', ['../../etc'])), /allowed_directories\.0: "\.\.\/\.\.\/etc" is not an absolute path/); // D16
  assert.match(await refusal(client.set('blocked_commands', ['rm -rf ('])), /blocked_commands\.0: not a valid regular expression/); // D15
  assert.match(await refusal(client.set('denied_directories', [paths.dir])), /denied_directories\.0: .* is also in allowed_directories/); // D15
  assert.match(await refusal(client.set('file_read_line_limit', 0)), /file_read_line_limit: Too small/); // D15
  const tooMany = Array.from({ length: 101 }, (_, i) => ({ name: `c${i}`, version: '1' }));
  assert.match(await refusal(client.set('client_history', tooMany)), /client_history: has 101 items; at most 100 are allowed/); // D21
  assert.match(await refusal(client.set('http.port', 70000)), /http\.port: 70000 is not a port/);
  assert.match(await refusal(client.set('fuzzy_search_threshold', 65)), /fuzzy_search_threshold: Too big/); // D18

  await client.set('default_shell', '/bin/sh');
  await client.set('blocked_commands', ['^rm -rf /$']);
  assert.equal(await client.get('default_shell'), '/bin/sh');
});
