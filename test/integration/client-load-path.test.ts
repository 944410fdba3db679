// What a client process loads (docs/decisions.md, "Client" and "CLI"): a CLI
// `get` and a library client doing one get load neither node-ipc, zod,
// msgpackr (the client has its own codec for plain values) nor any sidecar
// module, and the modules the CLI resolves itself are the same real files
// Node's resolver would give.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI } from '../helpers/paths.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const DIST = fileURLToPath(new URL('../../', import.meta.url));

// Preloaded into the child: records every module URL Node loads and prints them at exit.
const PROBE = `
const loaded = [];
require('node:module').registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
process.on('exit', () => process.stderr.write('\\nLOADED=' + JSON.stringify(loaded) + '\\n'));
`;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

function loadedBy(stderr: string): string[] {
  const match = /^LOADED=(.*)$/m.exec(stderr);
  assert.ok(match, `the probe did not report: ${stderr}`);
  return JSON.parse(match[1]!) as string[];
}

/** The loaded URLs that a client must not load. */
function forbidden(urls: string[]): string[] {
  return urls.filter((url) => /\/node_modules\/(node-ipc|zod|msgpackr|msgpackr-extract)\//.test(url) || url.includes('/dist/sidecar/'));
}

test('a CLI get and a library get load no node-ipc, zod, msgpackr or sidecar module', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const probe = path.join(paths.dir, 'probe.cjs');
  await writeFile(probe, PROBE);
  const set = await run([CLI, 'set', 'a', '1', '--socket', paths.socketPath]);
  assert.equal(set.code, 0, set.stderr);

  const cli = await run(['-r', probe, CLI, 'get', 'a', '--socket', paths.socketPath]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout, '1\n');
  const cliLoaded = loadedBy(cli.stderr);
  // The probe sees the client's codec (so it would see msgpackr, a dependency, if it were loaded).
  assert.ok(cliLoaded.some((url) => url.endsWith('/protocol/plain-msgpack.js')), `the client's codec not seen: ${cliLoaded.join('\n')}`);
  assert.deepEqual(forbidden(cliLoaded), []);
  // Resolved by the CLI's own hook: each is a real file's canonical URL, loaded once.
  const own = cliLoaded.filter((url) => url.startsWith('file:') && !url.includes('/node_modules/'));
  assert.ok(own.length > 20, `too few of the package's modules seen: ${own.join('\n')}`);
  for (const url of own) assert.equal(realpathSync(fileURLToPath(url)), fileURLToPath(url), `${url} is not a canonical path`);
  assert.equal(new Set(own).size, own.length, 'a module loaded twice');

  const script = `
    const { connect } = await import(${JSON.stringify(path.join(DIST, 'client/index.js'))});
    const client = connect({ socketPath: ${JSON.stringify(paths.socketPath)} });
    process.stdout.write(JSON.stringify(await client.get('a')));
    client.close();
  `;
  const library = await run(['-r', probe, '--input-type=module', '-e', script]);
  assert.equal(library.code, 0, library.stderr);
  assert.equal(library.stdout, '1');
  assert.deepEqual(forbidden(loadedBy(library.stderr)), []);
});
