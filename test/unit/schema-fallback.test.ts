// Read-only mode for a file that does not match the schema: partial writes
// are refused READ_ONLY, the writes that repair the file (a re-read of it, a
// set of the whole document) go through, and leaving the mode takes back only
// its own refusal, never a stop that came later.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, ErrorCode, ProtocolError } from '../../protocol/index.js';
import { CommitQueue } from '../../sidecar/store/commit-queue.js';
import { Health } from '../../sidecar/ops/health.js';
import { createLogger } from '../../sidecar/ops/logger.js';
import { SchemaFallback, repairsFile } from '../../sidecar/schema/schema-fallback.js';
import { initialState } from '../../sidecar/store/store-state.js';

const log = createLogger('silent');
const isCode = (code: string) => (error: unknown) => error instanceof ProtocolError && error.code === code;

function readOnlyQueue() {
  const queue = new CommitQueue(initialState({ port: 1 }, 1), () => Promise.resolve(), DEFAULT_LIMITS);
  const health = new Health();
  const fallback = new SchemaFallback('config.json does not match: port: too big; serving backup-1.json instead', 'the file is corrected', queue, health, log);
  fallback.enter();
  return { queue, health, fallback };
}

test('which writes repair a read-only file', () => {
  assert.equal(repairsFile([{ op: 'set', path: 'port', value: 2 }], 'file'), true);
  assert.equal(repairsFile([{ op: 'delete', path: 'port' }], 'reload'), true);
  assert.equal(repairsFile([{ op: 'set', path: '', value: { port: 2 } }], 'client'), true);
  assert.equal(repairsFile([{ op: 'set', path: [], value: { port: 2 } }], 'client'), true);
  assert.equal(repairsFile([{ op: 'set', path: 'port', value: 2 }], 'client'), false);
  assert.equal(repairsFile([{ op: 'delete', path: '' }], 'client'), false);
  assert.equal(repairsFile([{ op: 'set', path: '', value: {} }, { op: 'set', path: 'port', value: 2 }], 'client'), false);
});

test('read-only: a partial write is refused and health says why; a whole-document set goes through; leaving lifts the refusal', async () => {
  const { queue, health, fallback } = readOnlyQueue();
  await assert.rejects(queue.submit([{ op: 'set', path: 'port', value: 2 }]), isCode(ErrorCode.READ_ONLY));
  const report = health.report('config.json', true);
  assert.equal(report.status, 'degraded');
  assert.equal(report.readOnly, true);
  assert.equal(report.fileValid, false);
  assert.match(report.reasons.join('\n'), /does not match: port: too big; serving backup-1\.json/);

  await queue.submit([{ op: 'set', path: '', value: { port: 3 } }]);
  fallback.leave('restored');
  await queue.submit([{ op: 'set', path: 'port', value: 4 }]);
  assert.deepEqual(queue.committed.doc, { port: 4 });
  assert.equal(health.report('config.json', true).status, 'ok');
});

test('leaving read-only mode after a stop began keeps the stop', async () => {
  const { queue, fallback } = readOnlyQueue();
  queue.refuseWrites(new ProtocolError(ErrorCode.SHUTTING_DOWN, 'stopping'));
  fallback.leave('a repairing write committed');
  await assert.rejects(queue.submit([{ op: 'set', path: '', value: { port: 2 } }]), isCode(ErrorCode.SHUTTING_DOWN));
});
