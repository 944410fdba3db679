// A hand edit that lands between a rewrite's last check of the file and its
// rename is not overwritten unseen (docs/decisions.md, "Hand edits are never
// overwritten"): a file created where there was none (a fresh config, or one
// removed) is refused by the link that puts the rewrite in place; a file
// rewritten in place is read back from the replaced file. The edit is saved
// in the same turn as the rename itself (an in-process sidecar whose file
// system runs it there), so it lands in that window every time and no watch
// event can see it first.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { test } from 'node:test';
import type { ConfigClient } from '../../client/index.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { startFaultySidecar } from '../helpers/faulty-sidecar.js';

/** Resolves once `key` is served as `value`; fails after 10 s. */
async function served(client: ConfigClient, key: string, value: unknown): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await client.get(key)) !== value) {
    assert.ok(Date.now() < deadline, `${key} was not served as ${JSON.stringify(value)} within 10 s: the edit was lost`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function fileHolds(client: ConfigClient, path: string): Promise<unknown> {
  await fileCaughtUp(client);
  return JSON.parse(await readFile(path, 'utf8'));
}

test('a config file created by hand between the first rewrite’s check and its rename is taken in, not replaced', async (t) => {
  const { faulty, client, paths } = await startFaultySidecar(t);
  // The rewrite found no file; the user's save (of what was served, and a key more) makes one before it is put in place.
  faulty.rightBeforeRenameOnto(paths.configPath, () => writeFileSync(paths.configPath, JSON.stringify({ written: 1, hand: 'created' })));
  await client.set('written', 1);
  await served(client, 'hand', 'created');
  assert.deepEqual(await client.get(''), { written: 1, hand: 'created' });
  assert.deepEqual(await fileHolds(client, paths.configPath), { written: 1, hand: 'created' });
});

test('a removed config file made again by hand while it is being written back is taken in, not replaced', async (t) => {
  const { faulty, client, paths } = await startFaultySidecar(t);
  await client.set('written', 1, { waitForFile: true });
  await unlink(paths.configPath);
  faulty.rightBeforeRenameOnto(paths.configPath, () => writeFileSync(paths.configPath, JSON.stringify({ written: 2, hand: 'remade' })));
  await client.set('written', 2);
  await served(client, 'hand', 'remade');
  assert.deepEqual(await fileHolds(client, paths.configPath), { written: 2, hand: 'remade' });
});

test('a config file rewritten in place between a rewrite’s check and its rename is read back from the replaced file', async (t) => {
  const { faulty, client, paths } = await startFaultySidecar(t);
  await client.set('written', 1, { waitForFile: true });
  // In place (truncate and write, as a shell's `>` does): into the file the rename is about to replace.
  faulty.rightBeforeRenameOnto(paths.configPath, () => writeFileSync(paths.configPath, JSON.stringify({ written: 1, hand: 'in place' })));
  await client.set('written', 2);
  await served(client, 'hand', 'in place');
  assert.equal(await client.get('written'), 2, 'the client’s write, committed after the edit’s base, is kept');
  assert.deepEqual(await fileHolds(client, paths.configPath), { written: 2, hand: 'in place' });
});
