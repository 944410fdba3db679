// What `npm pack` ships: the library, CLI, validators, their types, the
// service units, docs and examples — never compiled tests, benchmarks or
// source maps that point at sources the package does not hold.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT as root, packProject } from '../helpers/package-tarball.js';

test('the package holds the library, CLI, types, units, docs and examples, and nothing built for development', async () => {
  const { files } = await packProject();
  const unwanted = files.filter((file) => file.startsWith('dist/test/') || file.startsWith('dist/bench/') || file.endsWith('.map'));
  assert.deepEqual(unwanted, [], 'tests, benchmarks and source maps must stay out of the package');
  for (const required of ['LICENSE', 'README.md', 'package.json', 'docs/operations.md', 'docs/protocol.md', 'examples/kodegen-server.schema.mjs', 'launchd/config-sidecar.plist']) {
    assert.ok(files.includes(required), `${required} is missing from the package`);
  }
  assert.ok(files.some((file) => file.startsWith('systemd/')), 'the systemd units are missing from the package');

  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    exports: Record<string, string | { types?: string; default?: string }>;
  };
  const targets = [
    ...Object.values(manifest.bin),
    ...Object.values(manifest.exports).flatMap((target) => (typeof target === 'string' ? [target] : [target.types, target.default].filter((t): t is string => t !== undefined))),
  ].map((target) => path.posix.normalize(target));
  for (const target of targets) assert.ok(files.includes(target), `${target} (named in package.json) is missing from the package`);
  for (const bin of Object.values(manifest.bin)) {
    const head = (await readFile(path.join(root, bin), 'utf8')).split('\n', 1)[0];
    assert.equal(head, '#!/usr/bin/env node', `${bin} must start with a node shebang to run as an installed command`);
  }
  // 259 with the layers (sidecar/layers/): the bound leaves room for the modules to come, not for a stray directory.
  assert.ok(files.length < 300, `the package holds ${files.length} files; a file list past 300 means something unintended is shipped`);
});
