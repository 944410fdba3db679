// While an editor has the config open (its swap or lock file beside the
// config changes), checkpoint rewrites start at least 50 ms apart, as after a
// hand edit: an editor's save renamed into place in the instant before a
// rewrite's rename is overwritten unseen, and the chance of that grows with
// the rewrite rate (docs/decisions.md, "Hand edits are never overwritten").
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { isEditorFile } from '../../sidecar/file/file-watch.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test("an editor's swap, lock and backup files for the config are told apart; other files that hold its name are not", () => {
  for (const name of ['.config.json.swp', '.config.json.swo', '.config.json.swx', '.config.json.kate-swp', 'config.json~', 'config.json.bak', '.#config.json', '#config.json#', 'config.json___jb_tmp___']) {
    assert.equal(isEditorFile(name, 'config.json'), true, name);
  }
  // The config itself, the sidecar's state directory and schema file, another app's config that holds the name.
  for (const name of ['config.json', '.config.json.sidecar', 'config.schema.json', 'my-config.json', '.config.json.swpx', 'other.json', '4913']) {
    assert.equal(isEditorFile(name, 'config.json'), false, name);
  }
  assert.equal(isEditorFile('config.schema.json', 'config'), false, 'a config named "config" and its schema file');
});

test('while a swap file beside the config changes, a client writing without pause gets at most one rewrite per 50 ms', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('counter', 0, { waitForFile: true });
  const rewrites = async () => ((await client.stats()).file as { rewrites: number }).rewrites;

  let writing = true;
  let sets = 0;
  const writer = (async () => {
    while (writing) await client.set('counter', ++sets);
  })();
  t.after(() => {
    writing = false;
  });
  const window = async (): Promise<number> => {
    const before = await rewrites();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return (await rewrites()) - before;
  };

  const unpaced = await window();
  // vim keeps its swap file beside the file while it is open and writes it every few seconds of typing.
  const swap = path.join(path.dirname(paths.configPath), `.${path.basename(paths.configPath)}.swp`);
  t.after(() => rm(swap, { force: true }));
  await writeFile(swap, 'b0VIM');
  const touching = setInterval(() => void writeFile(swap, `b0VIM ${Date.now()}`), 200);
  t.after(() => clearInterval(touching));
  await new Promise((resolve) => setTimeout(resolve, 100)); // the watcher has seen it
  const paced = await window();
  clearInterval(touching);
  writing = false;
  await writer;
  t.diagnostic(`rewrites in 1 s: ${unpaced} before the swap file, ${paced} while it changes (${sets} sets)`);
  // At most one start per 50 ms (and one in flight at the window's start).
  assert.ok(paced <= 1000 / 50 + 1, `${paced} rewrites in 1 s while an editor had the file open`);
});
