// The README's TypeScript examples, run: every ```ts block is written to a
// fresh project that imports `config-sidecar` by name (this package, linked),
// compiled with the project's own tsc under strict settings, and run against
// a real sidecar. An example that stops compiling, throws, or never ends
// (a client left open) fails here.
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/** Every fenced ```ts block of the README, in order. */
async function typescriptBlocks(): Promise<string[]> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

test('every TypeScript block of the README compiles and runs against a sidecar', async (t) => {
  const blocks = await typescriptBlocks();
  assert.ok(blocks.length >= 2, `found ${blocks.length} blocks`);
  const paths = await testPaths(t);
  const project = path.join(paths.dir, 'app');
  await mkdir(path.join(project, 'node_modules', '@types'), { recursive: true });
  await symlink(ROOT, path.join(project, 'node_modules', 'config-sidecar'));
  await symlink(path.join(ROOT, 'node_modules', 'zod'), path.join(project, 'node_modules', 'zod'));
  await symlink(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(project, 'node_modules', '@types', 'node'));
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  await writeFile(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'ESNext.Disposable'], types: ['node'], strict: true, outDir: 'out', skipLibCheck: true },
      include: ['*.ts'],
    }),
  );
  const names = blocks.map((_, index) => `example-${index + 1}`);
  await Promise.all(blocks.map((block, index) => writeFile(path.join(project, `${names[index]}.ts`), block)));

  const compiled = await runNode(TSC, ['-p', path.join(project, 'tsconfig.json')], { timeoutMs: 60_000 });
  assert.equal(compiled.code, 0, `tsc:\n${compiled.stdout}${compiled.stderr}`);

  await startSidecar(t, paths);
  for (const [index, name] of names.entries()) {
    const ran = await runNode(path.join(project, 'out', `${name}.js`), [], { env: { CONFIG_SIDECAR_SOCKET: paths.socketPath }, timeoutMs: 30_000 });
    assert.equal(ran.code, 0, `README block ${index + 1} exited ${ran.code}:\n${blocks[index]}\nstderr:\n${ran.stderr}`);
  }
});
