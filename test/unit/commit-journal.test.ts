// The commit journal's framing and reading, and the generation fence, on real
// files in a temp directory: a torn or damaged tail is dropped, a retried or
// aborted flush does not stand, a replay rebuilds the committed document, and
// an owner whose generation was fenced off can no longer rename into place.
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { CommitJournal, decodeRecords, encodeRecord, newestJournal, readJournal, replayCommits, type CommitRecord, type JournalRecord } from '../../sidecar/file/commit-journal.js';
import { deepFreeze } from '../fixtures/deep-freeze.js';
import { realFs } from '../../sidecar/disk/fs-ops.js';
import { Generation } from '../../sidecar/ownership/generation-fence.js';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-journal-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const checkpoint: JournalRecord = { kind: 'checkpoint', revision: 1, base: null };
const commit = (first: number, last: number, key: string, value: unknown): JournalRecord => ({
  kind: 'commit',
  first,
  last,
  changes: [{ segments: [key], value }],
  sha256: `sha-${first}`,
});

test('a torn tail (a crash mid-append) and a damaged record are detected and dropped', () => {
  const whole = Buffer.concat([encodeRecord(checkpoint), encodeRecord(commit(2, 2, 'a', 1))]);
  const third = encodeRecord(commit(3, 3, 'b', 2));
  for (let cut = 1; cut < third.length; cut++) {
    const { records, torn } = decodeRecords(Buffer.concat([whole, third.subarray(0, cut)]));
    assert.equal(records.length, 2);
    assert.equal(torn, true);
  }
  const flipped = Buffer.from(third);
  flipped.writeUInt8(flipped.readUInt8(flipped.length - 2) ^ 0xff, flipped.length - 2);
  assert.deepEqual(decodeRecords(Buffer.concat([whole, flipped])), { records: decodeRecords(whole).records, torn: true });
  assert.equal(decodeRecords(Buffer.concat([whole, third])).records.length, 3);
});

test('a flush that failed does not stand: its revisions taken by the next record, or cancelled by an abort', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'journal-000000');
  const records: JournalRecord[] = [checkpoint, commit(2, 3, 'a', 1), commit(4, 5, 'b', 2), commit(4, 4, 'c', 3), commit(5, 6, 'd', 4), { kind: 'abort', first: 5 }];
  await writeFile(file, Buffer.concat(records.map(encodeRecord)));
  const contents = await readJournal(realFs, file);
  assert.deepEqual(
    contents?.commits.map((c) => c.first),
    [2, 4],
  );
  assert.deepEqual(replayCommits({}, contents!.commits), { a: 1, c: 3 });
});

test('the newest journal with a checkpoint is used; one without (an owner that died first) is skipped', async (t) => {
  const dir = await tempDir(t);
  const older = path.join(dir, 'gen-1-1');
  const newer = path.join(dir, 'gen-2-2');
  await mkdir(older);
  await mkdir(newer);
  const journal = await CommitJournal.start(realFs, older, 0, checkpoint);
  await journal.append(commit(2, 2, 'x', 'kept'));
  await journal.close();
  await appendFile(path.join(newer, 'journal-000000'), encodeRecord(commit(2, 2, 'x', 'no checkpoint')).subarray(0, 5));
  const found = await newestJournal(realFs, [newer, older]);
  assert.equal(found?.path, path.join(older, 'journal-000000'));
  assert.deepEqual(replayCommits({}, found!.commits), { x: 'kept' });
});

test('a replay applies sets and deletes in order, through objects and arrays', () => {
  const doc = replayCommits({ keep: true, list: [1, 2] }, [
    { kind: 'commit', first: 2, last: 2, changes: [{ segments: ['a', 'b'], value: 1 }], sha256: '' },
    { kind: 'commit', first: 3, last: 4, changes: [{ segments: ['list'], value: [1, 2, 3] }, { segments: ['keep'], deleted: true }], sha256: '' },
  ]);
  assert.deepEqual(doc, { a: { b: 1 }, list: [1, 2, 3] });
});

test('a new generation fences the old one off: its rename into place fails, and it knows', async (t) => {
  const stateDir = await tempDir(t);
  const first = await Generation.claim(stateDir);
  const temp = path.join(first.dir, 'pending');
  await writeFile(temp, 'late');
  assert.equal(await first.inPlace(), true);

  const second = await Generation.claim(stateDir);
  assert.equal(second.number, first.number + 1);
  assert.deepEqual(
    second.fenced.map((gen) => gen.number),
    [first.number],
  );
  assert.equal(await first.inPlace(), false);
  await assert.rejects(first.assertInPlace(), { name: 'FencedOff' });
  const target = path.join(stateDir, 'config.json');
  await assert.rejects(rename(temp, target), { code: 'ENOENT' });
  await assert.rejects(readFile(target), { code: 'ENOENT' });
  // A fenced generation with this process's pid is an earlier run's (pids repeat in containers): removed.
  assert.deepEqual(await second.pruneDead(), [first.dir.replace(stateDir, path.join(stateDir, 'fenced'))]);
});

test('a replay leaves the document it starts from as it was, and gives what copy-on-write gives', () => {
  const base = deepFreeze({ big: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])), list: [{ a: 1 }] });
  const commits: CommitRecord[] = [];
  for (let i = 0; i < 500; i++) {
    commits.push({
      kind: 'commit',
      first: i + 2,
      last: i + 2,
      changes: [
        { segments: ['big', `new${i}`], value: i },
        ...(i % 50 === 0 ? [{ segments: ['big', `k${i}`], deleted: true as const }, { segments: ['list'], value: [{ a: i }] }] : []),
      ],
    });
  }
  const replayed = replayCommits(base, commits);
  const expected = structuredClone(base) as { big: Record<string, unknown>; list: unknown };
  for (const commit of commits) for (const change of commit.changes) {
    if (change.deleted === true) delete expected.big[change.segments[1]!];
    else if (change.segments[0] === 'list') expected.list = change.value;
    else expected.big[change.segments[1]!] = change.value;
  }
  assert.deepEqual(replayed, expected);
  assert.equal(Object.keys(base.big).length, 1000, 'the starting document (frozen: a change in place would throw) is untouched');
});
