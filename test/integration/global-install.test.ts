// A global install (`npm i -g`), as the systemd and launchd units run it: a
// schema module in a directory with no node_modules anywhere above it imports
// `zod` and `config-sidecar/validators`, which the sidecar resolves from its
// own installation (sidecar/schema/schema-imports.ts). Nothing else of the
// installation is lent out, and a project's own zod beside its schema wins.
import assert from 'node:assert/strict';
import { cp, mkdtemp, realpath, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { installGlobally, type GlobalInstall } from '../helpers/global-install.js';
import { PROJECT_ROOT, packProject } from '../helpers/package-tarball.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

// A schema that refuses a port out of range, and reads back (as defaults) where its imports came from.
const SCHEMA = `import { z } from 'zod';
import { port } from 'config-sidecar/validators';
export const schema = z.strictObject({
  port: port().default(8080),
  zodFrom: z.string().default(import.meta.resolve('zod')),
  validatorsFrom: z.string().default(import.meta.resolve('config-sidecar/validators')),
});
`;

describe('a globally installed sidecar', { skip: process.platform === 'win32' ? 'npm lays out global installs differently on Windows' : false }, () => {
  let base: string;
  let installed: GlobalInstall;

  before(async () => {
    base = await mkdtemp(path.join(os.tmpdir(), 'cs-global-'));
    const { tarball } = await packProject(base);
    installed = await installGlobally(tarball!, path.join(base, 'prefix'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  /** Runs the installed CLI as a client of the sidecar on `paths`. */
  const cli = (paths: TestPaths, ...args: string[]) => runNode(path.join(installed.packageDir, 'dist', 'cli', 'main.js'), [...args, '--socket', paths.socketPath]);

  /** A schema module (`SCHEMA` unless given) in the test's own directory, after checking no node_modules above could lend it a package. */
  async function schemaModule(paths: TestPaths, text = SCHEMA): Promise<string> {
    for (let dir = paths.dir; ; dir = path.dirname(dir)) {
      const shadow = await stat(path.join(dir, 'node_modules')).then(() => true, () => false);
      assert.equal(shadow, false, `${dir}/node_modules exists: the test needs a schema directory with no node_modules above it`);
      if (path.dirname(dir) === dir) break;
    }
    const file = path.join(paths.dir, 'config.schema.mjs');
    await writeFile(file, text);
    return file;
  }

  /** The installed CLI refuses what the schema refuses and applies what it accepts; returns where the schema's imports came from. */
  async function checkWrites(t: TestContext, paths: TestPaths, schema: string, env: Record<string, string> = {}): Promise<{ zodFrom: string; validatorsFrom: string }> {
    await startSidecar(t, paths, { executable: installed.bin, env: { ...installed.env, ...env }, extraArgs: ['--schema', schema] });
    const refused = await cli(paths, 'set', 'port', '70000');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /VALIDATION_FAILED.*port: 70000 is not a port/);
    const accepted = await cli(paths, 'set', 'port', '8081');
    assert.equal(accepted.code, 0, accepted.stderr);
    const read = await cli(paths, 'dump', '--json');
    assert.equal(read.code, 0, read.stderr);
    const doc = JSON.parse(read.stdout) as { port: number; zodFrom: string; validatorsFrom: string };
    assert.equal(doc.port, 8081);
    return doc;
  }

  const installation = () => pathToFileURL(installed.packageDir).href + '/';

  test('a schema module with nothing beside it imports zod and config-sidecar/validators from the installation', async (t) => {
    const paths = await testPaths(t);
    const from = await checkWrites(t, paths, await schemaModule(paths));
    assert.ok(from.zodFrom.startsWith(`${installation()}node_modules/zod/`), `zod came from ${from.zodFrom}`);
    assert.equal(from.validatorsFrom, `${installation()}dist/validators/index.js`);
  });

  test('a project that has its own zod beside its schema keeps using it', async (t) => {
    const paths = await testPaths(t);
    const schema = await schemaModule(paths);
    const own = path.join(paths.dir, 'node_modules', 'zod');
    await cp(path.join(PROJECT_ROOT, 'node_modules', 'zod'), own, { recursive: true });
    const from = await checkWrites(t, paths, schema);
    assert.ok(from.zodFrom.startsWith(pathToFileURL(await realpath(own)).href + '/'), `zod came from ${from.zodFrom}`);
    assert.equal(from.validatorsFrom, `${installation()}dist/validators/index.js`);
  });

  test('only zod and the subpaths config-sidecar exports are resolved from the installation', async (t) => {
    const cases = [
      // A dependency of the sidecar, present in its installation, is still not the schema's.
      { line: "import pino from 'pino';", error: /Cannot find package 'pino'/ },
      { line: "import 'config-sidecar/dist/sidecar/sidecar.js';", error: /Package subpath '\.\/dist\/sidecar\/sidecar\.js' is not defined by "exports"/ },
    ];
    await Promise.all(
      cases.map(async ({ line, error }) => {
        const paths = await testPaths(t);
        const schema = await schemaModule(paths, `${line}\n${SCHEMA}`);
        const sidecar = await startSidecar(t, paths, { executable: installed.bin, env: installed.env, extraArgs: ['--schema', schema], noWait: true });
        assert.equal(await sidecar.exitWithin(), 1, sidecar.stderr());
        assert.match(sidecar.stderr(), /cannot start: cannot load the schema module/);
        assert.match(sidecar.stderr(), error);
      }),
    );
  });

  test('on a Node without module.registerHooks (22.13, 22.14) the same holds through module.register', async (t) => {
    const paths = await testPaths(t);
    const older = path.join(paths.dir, 'without-register-hooks.mjs');
    await writeFile(older, "import module from 'node:module';\nmodule.registerHooks = undefined;\n");
    const from = await checkWrites(t, paths, await schemaModule(paths), { NODE_OPTIONS: `--import=${pathToFileURL(older).href}` });
    assert.ok(from.zodFrom.startsWith(`${installation()}node_modules/zod/`), `zod came from ${from.zodFrom}`);
  });
});
