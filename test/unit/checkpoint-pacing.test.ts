// The checkpoint writer's spacing while someone edits the file by hand: for
// 5 s after a hand edit is taken in, rewrites start at least 50 ms apart,
// also across the writer catching up and starting again (docs/decisions.md,
// "Hand edits are never overwritten"). Driven with a renderer and a target
// that only record: the pacing is the writer's own logic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckpointWriter, type CheckpointTarget } from '../../sidecar/file/checkpoint-writer.js';
import type { CheckpointRenderer, Rendered } from '../../sidecar/file/checkpoint-renderer.js';

test('after a hand edit, rewrites start at least 50 ms apart even when the file catches up between commits', async (t) => {
  let newest = 1;
  const renderer = {
    apply: (revision: number) => {
      newest = revision;
    },
    render: async (): Promise<Rendered> => ({ revision: newest, bytes: Buffer.from('{}\n'), sha256: '' }),
  } as unknown as CheckpointRenderer;
  const starts: number[] = [];
  // Each rewrite takes 2 ms: with commits 10 ms apart the writer catches up before each next commit.
  const target: CheckpointTarget = {
    rewrite: async () => {
      starts.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, 2));
    },
  };
  const writer = new CheckpointWriter(renderer, target, { onDiskChanged: async () => {}, onFailed: () => {}, onCaughtUp: () => {}, onLost: () => {} }, 1);
  t.after(() => writer.stop());
  writer.committed(2, [], false, true); // a hand edit is taken in
  for (let revision = 3; revision < 30; revision++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    writer.committed(revision, [], true, false); // a client's commit
  }
  await writer.settle();
  const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
  t.diagnostic(`${starts.length} rewrites for 28 commits; shortest gap ${Math.min(...gaps).toFixed(1)} ms`);
  assert.ok(starts.length >= 2);
  assert.ok(gaps.every((gap) => gap >= 50), `gaps: ${gaps.map((gap) => gap.toFixed(1)).join(', ')}`);
  assert.equal(writer.fileRevision, 29, 'the file ends holding the last commit');
});
