// No hand edit is lost while clients write: 60 edits (alternately renamed
// into place and rewritten in place, 40–70 ms apart, each adding `hand_i` to
// what it read) race one client setting a counter in a loop, at 0, 10 and
// 100 ms between sets. Every edit ends up in the served config and in the
// file, every acknowledged set too, and nothing is quarantined. Saves
// rewritten in place are never lost (one landing just before a flush's rename
// is read back from the replaced file). A save renamed into place within the
// same ~0.1 ms as a rewrite's own rename is overwritten unseen: the window
// docs/decisions.md ("Hand edits are never overwritten") measures, which no
// check before a rename can close. While someone edits (a hand edit was
// taken in, or an editor's file such as this editor's `.config.json.swp`
// changed), rewrites start at least 50 ms apart, which makes that rare: 0 of
// 420 renamed saves lost over 14 runs at 0 and 10 ms, against 1–2 of 30 per
// run at 0 ms without that pacing (and all 60 saves lost at 0 and 10 ms
// before the check). Losses are
// counted and printed; at most 1 of the 30 renamed saves is allowed: the open
// part of this guarantee. HAND_EDIT_PACINGS lists the client pacings: the
// file alone runs 100 ms, CI 10 and 100 ms, npm run test:chaos 0, 10 and 100.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '../../client/index.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { fileCaughtUp } from '../helpers/file-caught-up.js';
import { testPaths } from '../helpers/temp-dir.js';

const HAND_EDITOR = fileURLToPath(new URL('../helpers/hand-editor.js', import.meta.url));
const EDITS = 60;

const PACINGS = (process.env.HAND_EDIT_PACINGS ?? '100').split(',').map(Number);

for (const pacingMs of PACINGS) {
  test(`60 hand edits while a client sets a counter every ${pacingMs} ms: all applied, every acknowledged set kept`, async (t) => {
    const seed = Number(process.env.HAND_EDIT_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed ${seed} (HAND_EDIT_SEED replays it)`);
    const paths = await testPaths(t);
    await startSidecar(t, paths);
    const client = connect({ socketPath: paths.socketPath });
    t.after(() => client.close());
    await client.set('counter', 0);

    const editor = runNode(HAND_EDITOR, [paths.configPath, String(EDITS), String(seed)], { timeoutMs: 60_000 });
    let editing = true;
    void editor.finally(() => (editing = false));
    let acknowledged = 0;
    while (editing) {
      await client.set('counter', acknowledged + 1);
      acknowledged++;
      if (pacingMs > 0) await new Promise((resolve) => setTimeout(resolve, pacingMs));
    }
    const result = await editor;
    assert.equal(result.code, 0, result.stderr);
    t.diagnostic(`${acknowledged} sets acknowledged; editor: ${result.stdout.trim()}`);

    // The last edit is taken in by the watch (or the next flush): one more set makes sure a flush ran after it.
    await client.set('after', true);
    const deadline = Date.now() + 10_000;
    let served = (await client.get('')) as Record<string, unknown>;
    while (missingEdits(served).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      served = (await client.get('')) as Record<string, unknown>;
    }
    const lost = missingEdits(served);
    t.diagnostic(`${EDITS - lost.length} of ${EDITS} edits applied${lost.length === 0 ? '' : `; lost in the rename window: ${lost.join(', ')}`}`);
    assert.deepEqual(lost.filter((i) => i % 2 === 1), [], 'no save rewritten in place is lost');
    assert.ok(lost.length <= 1, `${lost.length} renamed saves lost (${lost.join(', ')}): more than the window allows`);
    assert.equal(served.counter, acknowledged, 'the last acknowledged set is served');
    await fileCaughtUp(client);
    const onDisk = JSON.parse(await readFile(paths.configPath, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(missingEdits(onDisk), lost, 'the file holds what is served');
    assert.equal(onDisk.counter, acknowledged);
    const quarantine = await readdir(path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine')).catch(() => []);
    assert.deepEqual(quarantine, [], 'nothing quarantined');
    assert.equal((await client.health()).status, 'ok');
  });
}

function missingEdits(doc: Record<string, unknown>): number[] {
  const missing: number[] = [];
  for (let i = 0; i < EDITS; i++) if (doc[`hand_${i}`] !== i) missing.push(i);
  return missing;
}
