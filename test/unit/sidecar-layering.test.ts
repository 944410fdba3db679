// The sidecar's folders import only downwards (docs/architecture.md): each
// folder may import from the folders listed before it, never from one after,
// so a change at the bottom (ops, disk, store) cannot pull the network or the
// schema in, and the map in the docs stays true.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** Lowest first. The files at the top (sidecar.ts, index.ts) may import anything. */
const ORDER = ['ops', 'disk', 'store', 'ownership', 'file', 'schema', 'fleet', 'layers', 'watch', 'net'];

const SIDECAR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../sidecar');

test('each sidecar folder imports only from folders below it', async () => {
  const folders = (await readdir(SIDECAR, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  assert.deepEqual([...folders].sort(), [...ORDER].sort(), 'every folder has its place in the order (and the docs)');
  const upward: string[] = [];
  for (const folder of folders) {
    for (const name of (await readdir(path.join(SIDECAR, folder))).filter((file) => file.endsWith('.ts'))) {
      const text = await readFile(path.join(SIDECAR, folder, name), 'utf8');
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.\.\/[^']+)'/g)) {
        const target = path.relative(SIDECAR, path.resolve(SIDECAR, folder, match[1]!)).split(path.sep)[0]!;
        if (!ORDER.includes(target)) continue; // the protocol, or the files at the top
        if (ORDER.indexOf(target) > ORDER.indexOf(folder)) upward.push(`${folder}/${name} imports ${match[1]}`);
      }
    }
  }
  assert.deepEqual(upward, []);
});
