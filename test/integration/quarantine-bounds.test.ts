// quarantine/ is bounded (sidecar/file/quarantine.ts): every invalid hand edit is
// kept for its author, but only the newest N files within M bytes stay. Before,
// 20 invalid saves of a 5 MB file left 20 copies, 101 MB. The newest copy —
// the one health names — is always kept.
import assert from 'node:assert/strict';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect, type ConfigClient } from '../../client/index.js';
import { DEFAULT_QUARANTINE } from '../../sidecar/file/quarantine.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const quarantineOf = (paths: TestPaths): string => path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine');

/** Saves `text` the way an editor does (a new file renamed into place) and waits until the sidecar has kept it. */
async function saveInvalid(client: ConfigClient, paths: TestPaths, text: string, seen: Set<string>): Promise<string> {
  const temp = `${paths.configPath}.swp`;
  await writeFile(temp, text);
  await rename(temp, paths.configPath);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const reasons = (await client.health()).reasons.join('\n');
    const kept = /the text is kept in (\S+)/.exec(reasons)?.[1];
    if (kept !== undefined && !seen.has(kept)) {
      seen.add(kept);
      return kept;
    }
    if (Date.now() > deadline) throw new Error(`the invalid save was not kept within 15 s; health: ${reasons}`);
    await new Promise((resolve) => setTimeout(resolve, 20)); // polling health, bounded by the deadline above
  }
}

async function quarantined(paths: TestPaths): Promise<{ files: string[]; bytes: number }> {
  const files = await readdir(quarantineOf(paths));
  let bytes = 0;
  for (const name of files) bytes += (await stat(path.join(quarantineOf(paths), name))).size;
  return { files, bytes };
}

test('20 invalid saves of a 5 MB file keep quarantine/ within its default bounds, the newest copy intact', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('keep', 1, { waitForFile: true }); // the file holds it before an editor saves over it
  const filler = 'x'.repeat(5 * 1024 * 1024);
  const seen = new Set<string>();
  let newest = '';
  let newestText = '';
  for (let i = 0; i < 20; i++) {
    newestText = `{"keep": 1, "filler": "${filler}", "save": ${i},,}\n`;
    newest = await saveInvalid(client, paths, newestText, seen);
    const { files, bytes } = await quarantined(paths);
    assert.ok(files.length <= DEFAULT_QUARANTINE.maxFiles, `${files.length} files after save ${i + 1}`);
    assert.ok(bytes <= DEFAULT_QUARANTINE.maxBytes, `${bytes} bytes after save ${i + 1}`);
  }
  const { files, bytes } = await quarantined(paths);
  assert.equal(files.length, Math.floor(DEFAULT_QUARANTINE.maxBytes / Buffer.byteLength(newestText)), 'as many copies as fit in the byte bound');
  t.diagnostic(`kept ${files.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  assert.equal(await readFile(newest, 'utf8'), newestText, 'the copy health names is the last save');
  assert.deepEqual(await client.get(''), { keep: 1 });
});

test('serve --quarantine FILES,BYTES sets the bounds: the newest FILES stay, a single file over BYTES is still kept', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths, { extraArgs: ['--quarantine', '3,1000'] });
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('keep', 1, { waitForFile: true }); // the file holds it before an editor saves over it
  const seen = new Set<string>();
  const kept: string[] = [];
  for (let i = 0; i < 6; i++) kept.push(await saveInvalid(client, paths, `{"save": ${i},,}\n`, seen));
  assert.deepEqual((await quarantined(paths)).files.sort(), kept.slice(-3).map((file) => path.basename(file)).sort(), 'the newest three');

  const large = await saveInvalid(client, paths, `{"big": "${'y'.repeat(2000)}",,}\n`, seen);
  assert.deepEqual((await quarantined(paths)).files, [path.basename(large)], 'alone over the byte bound, and kept: health names it');
});
