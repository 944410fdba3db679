// History files: how a failed write is classified, and how the files of many
// processes merge into one history (calls without a return, a torn last line).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ClientErrorCode, ConfigSidecarError, ErrorCode } from '../../client/index.js';
import { loadHistory, writeFailure } from '../helpers/history-recorder.js';
import { testPaths } from '../helpers/temp-dir.js';

test('a failed write is unknown unless its code promises nothing was applied', () => {
  const status = (code: string, details?: Record<string, unknown>) => writeFailure(new ConfigSidecarError(code as ErrorCode, 'x', details)).outcome.status;
  assert.equal(status(ClientErrorCode.OUTCOME_UNKNOWN), 'unknown');
  assert.equal(status(ClientErrorCode.TIMEOUT, { sent: true }), 'unknown');
  assert.equal(status(ClientErrorCode.CLOSED), 'unknown');
  assert.equal(status(ErrorCode.INTERNAL), 'unknown');
  assert.equal(status(ClientErrorCode.TIMEOUT, { sent: false }), 'failed');
  assert.equal(status(ClientErrorCode.UNAVAILABLE), 'failed');
  assert.equal(status(ErrorCode.WRITE_FAILED), 'failed');
  assert.equal(status(ErrorCode.SHUTTING_DOWN), 'failed');
  assert.equal(status(ErrorCode.CONFLICT), 'conflict');
  assert.throws(() => writeFailure(new TypeError('a bug')), TypeError);
});

test('the files of several processes merge into one history', async (t) => {
  const { dir } = await testPaths(t);
  const lines = (...objects: unknown[]) => objects.map((o) => JSON.stringify(o) + '\n').join('');
  await writeFile(
    path.join(dir, 'p1.jsonl'),
    lines(
      { t: 'call', n: 1, key: 'k', call: { type: 'set', value: 'a' }, at: 10 },
      { t: 'call', n: 2, key: 'k', call: { type: 'get' }, at: 11 },
      { t: 'return', n: 1, outcome: { status: 'ok' }, at: 12 },
      { t: 'return', n: 2, outcome: { status: 'ok', seen: { exists: true, value: 'a' } }, at: 13 },
      { t: 'call', n: 3, key: 'k', call: { type: 'set', value: 'b' }, at: 14 },
      { t: 'return', n: 3, outcome: { status: 'unknown' }, code: 'OUTCOME_UNKNOWN', at: 15 },
    ),
  );
  // p2 died: a write and a get never returned, and its last line is torn.
  await writeFile(
    path.join(dir, 'p2.jsonl'),
    lines({ t: 'call', n: 1, key: 'j', call: { type: 'delete' }, at: 20 }, { t: 'call', n: 2, key: 'j', call: { type: 'get' }, at: 21 }) + '{"t":"ret',
  );
  const history = await loadHistory(dir);
  assert.deepEqual(
    history.map((op) => [op.label, op.key, op.call.type, op.outcome.status, op.invokeMs, op.returnMs, op.code]),
    [
      ['p1#1', 'k', 'set', 'ok', 10, 12, undefined],
      ['p1#2', 'k', 'get', 'ok', 11, 13, undefined],
      // An unknown outcome never returned, as far as the checker is concerned.
      ['p1#3', 'k', 'set', 'unknown', 14, undefined, 'OUTCOME_UNKNOWN'],
      ['p2#1', 'j', 'delete', 'unknown', 20, undefined, undefined],
      ['p2#2', 'j', 'get', 'failed', 21, undefined, undefined],
    ],
  );
});

test('a malformed line is an error naming the file and line', async (t) => {
  const { dir } = await testPaths(t);
  await writeFile(path.join(dir, 'p.jsonl'), 'not json\n');
  await assert.rejects(loadHistory(dir), /p\.jsonl:1: not a history line/);
});
