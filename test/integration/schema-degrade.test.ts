// Schema problems degrade the service, they do not brick it
// (docs/decisions.md, schemas), shown with examples/kodegen-server.schema.mjs
// through real sidecar processes, the CLI, and restarts:
// - a directory the config lists is removed: unrelated writes go on, health
//   names the value, the next start serves; a new value is still checked;
// - a hand edit the schema rejects is left on disk: the next start serves
//   the last committed state (from the commit journal; the newest matching
//   backup when there is none) read-only with health saying why, and a
//   corrected edit or `restore` ends read-only mode.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { connect } from '../../client/index.js';
import type { HealthResult } from '../../protocol/index.js';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { waitUntil } from '../helpers/sidecar-pids.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/kodegen-server.schema.mjs', import.meta.url));

function cliFor(paths: TestPaths) {
  return (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);
}

/** Health from a client connection of the test's own (the CLI's path is exercised by the writes and restores). */
async function health(paths: TestPaths): Promise<HealthResult> {
  const client = connect({ socketPath: paths.socketPath });
  try {
    return await client.health();
  } finally {
    client.close();
  }
}

type Health = HealthResult;

/** Health's reasons but one that load on the test machine can add at any time (an event-loop stall). */
function reasonsOf(h: Health): string[] {
  return h.reasons.filter((reason) => !reason.includes('event loop was held up'));
}

/** Waits (bounded) until health satisfies `condition`; returns that health. */
async function healthUntil(paths: TestPaths, condition: (h: Health) => boolean, what: string): Promise<Health> {
  let last = await health(paths);
  await waitUntil(async () => condition((last = await health(paths))), 20_000, `${what} (last health: ${JSON.stringify(last)})`);
  return last;
}

const writable = (h: Health) => !h.readOnly && h.fileValid;

const serve = (t: TestContext, paths: TestPaths) => startSidecar(t, paths, { extraArgs: ['--schema', EXAMPLE] });

test('a removed directory the config lists: unrelated writes and the next start go on, health names it, new values are still checked', async (t) => {
  const paths = await testPaths(t);
  const kept = path.join(paths.dir, 'kept');
  const removed = path.join(paths.dir, 'removed');
  await mkdir(kept);
  await mkdir(removed);
  const cli = cliFor(paths);
  let sidecar = await serve(t, paths);
  assert.equal((await cli('set', 'allowed_directories', JSON.stringify([kept, removed]))).code, 0);
  assert.deepEqual(reasonsOf(await health(paths)), []);

  await rm(removed, { recursive: true });
  const set = await cli('set', 'http.port', '1234');
  assert.equal(set.code, 0, `an unrelated write is not refused for a value it does not touch: ${set.stderr}`);
  const degraded = await health(paths);
  assert.equal(degraded.status, 'degraded');
  assert.equal(degraded.readOnly, false);
  const reason = degraded.reasons.join('\n');
  assert.ok(reason.includes(paths.configPath) && reason.includes('allowed_directories.1') && reason.includes(removed), reason);

  // A value being written is checked against the disk as before, in whatever position.
  const bad = await cli('set', 'denied_directories', JSON.stringify([removed]));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /denied_directories\.0: .*is not a usable directory: it does not exist/);
  const moved = await cli('set', 'allowed_directories', JSON.stringify([removed, kept]));
  assert.equal(moved.code, 0, 'reordering keeps the same values: none is new');

  // The next start serves the file as it is, still degraded.
  assert.equal(await sidecar.stop(), 0);
  sidecar = await serve(t, paths);
  assert.equal((await cli('get', 'http.port')).stdout.trim(), '1234');
  await healthUntil(paths, (h) => /allowed_directories\.0: .*removed.*kept and served/.test(h.reasons.join('\n')), 'health names the removed directory');

  // The directory comes back: health notices without any write.
  await mkdir(removed);
  await healthUntil(paths, (h) => reasonsOf(h).length === 0, 'health clears');
  assert.equal(await sidecar.stop(), 0);
});

test('a hand edit the schema rejects, left on disk: the next start serves the last committed state read-only; a corrected edit ends it', async (t) => {
  const paths = await testPaths(t);
  const cli = cliFor(paths);
  let sidecar = await serve(t, paths);
  assert.equal((await cli('set', 'http.port', '1111')).code, 0);
  const rejected = '{\n  "http": { "port": 99999 }\n}\n';
  await writeFile(paths.configPath, rejected);
  await healthUntil(paths, (h) => /hand edit rejected/.test(h.reasons.join('\n')), 'the edit is rejected');
  assert.equal(await sidecar.stop(), 0);
  assert.equal(await readFile(paths.configPath, 'utf8'), rejected, 'the author\'s text stays where it was');

  sidecar = await serve(t, paths);
  assert.equal((await cli('get', 'http.port')).stdout.trim(), '1111', 'the last committed state is served');
  const readOnly = await health(paths);
  assert.equal(readOnly.status, 'degraded');
  assert.equal(readOnly.readOnly, true);
  assert.equal(readOnly.fileValid, false);
  const why = readOnly.reasons.join('\n');
  assert.ok(why.includes(paths.configPath) && /http\.port: .*65535/.test(why) && /last committed state \(.*journal-\d+\)/.test(why), why);
  assert.match(why, /restore N/);
  const refused = await cli('set', 'http.port', '2');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /READ_ONLY|read-only|refused/i);
  assert.equal(await readFile(paths.configPath, 'utf8'), rejected, 'read-only: the file is not touched');
  const quarantine = path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine');
  const copies = await Promise.all((await readdir(quarantine)).map((name) => readFile(path.join(quarantine, name), 'utf8')));
  assert.ok(copies.includes(rejected), 'a copy of the mismatching file is in quarantine');

  // A corrected edit while running is applied and ends read-only mode.
  await writeFile(paths.configPath, '{\n  "http": { "port": 2222 }\n}\n');
  assert.deepEqual(reasonsOf(await healthUntil(paths, writable, 'read-only mode ends')), []);
  assert.equal((await cli('get', 'http.port')).stdout.trim(), '2222');
  assert.equal((await cli('set', 'http.port', '3333')).code, 0);
  assert.equal(await sidecar.stop(), 0);
  await serve(t, paths);
  assert.equal((await cli('get', 'http.port')).stdout.trim(), '3333');
  assert.deepEqual(reasonsOf(await health(paths)), []);
});

test('a file that does not match at start: `restore` brings a backup back and ends read-only mode', async (t) => {
  const paths = await testPaths(t);
  const cli = cliFor(paths);
  let sidecar = await serve(t, paths);
  assert.equal((await cli('set', 'http.port', '1111')).code, 0);
  assert.equal(await sidecar.stop(), 0);
  // Edited while stopped: a key the schema does not know.
  await writeFile(paths.configPath, '{"http": {"port": 1111}, "htpp": {"port": 5}}\n');

  sidecar = await serve(t, paths);
  const readOnly = await health(paths);
  assert.equal(readOnly.readOnly, true);
  assert.match(readOnly.reasons.join('\n'), /htpp/);
  const restored = await cli('restore', '1');
  assert.equal(restored.code, 0, restored.stderr);
  assert.deepEqual(reasonsOf(await healthUntil(paths, writable, 'read-only mode ends')), []);
  assert.equal((await cli('set', 'http.port', '1212')).code, 0);
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')).http, { port: 1212 });
  assert.equal(await sidecar.stop(), 0);
});

test('a file that does not match and no backup that does: the start is refused naming the file and the issues, the file untouched', async (t) => {
  const paths = await testPaths(t);
  await mkdir(path.dirname(paths.configPath), { recursive: true });
  const text = '{"$schemaVersion": 2, "http": {"port": 0}}\n';
  await writeFile(paths.configPath, text);
  const sidecar = await startSidecar(t, paths, { extraArgs: ['--schema', EXAMPLE], noWait: true });
  assert.equal(await sidecar.exitWithin(), 1);
  assert.match(sidecar.stderr(), /config\.json does not match the schema .*http\.port: .*No backup matches the schema either.*left untouched/);
  assert.equal(await readFile(paths.configPath, 'utf8'), text);
});

test('a file that does not match at start: writing the served state back by hand ends read-only mode too', async (t) => {
  const paths = await testPaths(t);
  const cli = cliFor(paths);
  let sidecar = await serve(t, paths);
  assert.equal((await cli('set', 'http.port', '1111')).code, 0);
  assert.equal(await sidecar.stop(), 0);
  await writeFile(paths.configPath, '{"http": {"port": "1111"}}\n');

  sidecar = await serve(t, paths);
  const readOnly = await health(paths);
  assert.equal(readOnly.readOnly, true);
  assert.match(readOnly.reasons.join('\n'), /serving the last committed state \(.*journal-\d+\) instead/);
  // The file now holds exactly what is served: no revision to make, but it matches again.
  await writeFile(paths.configPath, '{"http": {"port": 1111}}\n');
  assert.deepEqual(reasonsOf(await healthUntil(paths, writable, 'read-only mode ends')), []);
  assert.equal((await cli('set', 'http.port', '1212')).code, 0);
  assert.equal(await sidecar.stop(), 0);
});
