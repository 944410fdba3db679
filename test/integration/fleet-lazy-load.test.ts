// etcd3 (and its gRPC stack) is loaded only when a fleet source starts: the
// client library, the sidecar entry, the fleet modules themselves and the
// CLI's start-up never load it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI } from '../helpers/paths.js';
import { testPaths } from '../helpers/temp-dir.js';

const DIST = fileURLToPath(new URL('../../', import.meta.url));

// Preloaded into the child: at exit, says whether any etcd3 file was loaded (ESM imports of
// CommonJS packages go through the CommonJS loader, so they land in require.cache too).
const PROBE = `
process.on('exit', () => {
  const marker = require('node:path').join('node_modules', 'etcd3') + require('node:path').sep;
  const loaded = Object.keys(require.cache).some((file) => file.includes(marker));
  process.stderr.write('\\nETCD3-LOADED=' + loaded + '\\n');
});
`;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

function etcd3Loaded(stderr: string): boolean {
  const match = /ETCD3-LOADED=(true|false)/.exec(stderr);
  assert.ok(match, `the probe did not report: ${stderr}`);
  return match[1] === 'true';
}

test('importing the client, the sidecar and the fleet modules, or starting the CLI, does not load etcd3', async (t) => {
  const { dir } = await testPaths(t);
  const probe = path.join(dir, 'probe.cjs');
  await writeFile(probe, PROBE);
  const modules = ['client/index.js', 'sidecar/index.js', 'sidecar/fleet/index.js'];
  const imports = modules.map((m) => `await import(${JSON.stringify(path.join(DIST, m))});`).join('\n');
  const imported = await run(['-r', probe, '--input-type=module', '-e', imports]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(etcd3Loaded(imported.stderr), false);

  const cli = await run(['-r', probe, CLI, '--help']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(etcd3Loaded(cli.stderr), false);
});

test('starting a fleet source loads etcd3 (the probe above can see it)', async (t) => {
  const { dir } = await testPaths(t);
  const probe = path.join(dir, 'probe.cjs');
  await writeFile(probe, PROBE);
  // Nothing listens on port 1: the source starts, fails to reach etcd, and is closed.
  const script = `
    const { FleetSource } = await import(${JSON.stringify(path.join(DIST, 'sidecar/fleet/fleet-source.js'))});
    let failed;
    const reached = new Promise((resolve) => (failed = resolve));
    const source = await FleetSource.start({
      connection: { endpoints: ['127.0.0.1:1'], prefix: '/x/' },
      stateDir: ${JSON.stringify(path.join(dir, 'state'))},
      onChange: () => {},
      onError: (error) => failed(error),
      backoff: { initialMs: 50, maxMs: 100 },
    });
    await reached;
    await source.close();
  `;
  const started = await run(['-r', probe, '--input-type=module', '-e', script]);
  assert.equal(started.code, 0, started.stderr);
  assert.equal(etcd3Loaded(started.stderr), true);
});
