// A conditional write prepared before a crash must not apply to a value the
// client never read: the recorded history of a read, a kill -9, another
// client's write and the conditional write is checked for linearizability.
// A start after a kill -9 numbers its revisions above the last one the commit
// journal records, so the modRevision read before the crash cannot name the
// write made after it (docs/decisions.md, "Epoch across restarts").
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadHistory } from '../helpers/history-recorder.js';
import { startLineProcess } from '../helpers/line-process.js';
import { checkHistory } from '../helpers/linearizability.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const HISTORY_WORKER = fileURLToPath(new URL('../helpers/history-worker.js', import.meta.url));

test('a CAS prepared before a kill -9 does not overwrite a value written after the restart', async (t) => {
  const paths = await testPaths(t);
  const historyDir = path.join(paths.dir, 'history');
  await mkdir(historyDir);
  let sidecar = await startSidecar(t, paths);
  const [a, b] = await Promise.all(['a', 'b'].map((name) => startLineProcess(t, HISTORY_WORKER, [paths.socketPath, path.join(historyDir, `${name}.jsonl`), '20000'])));
  a!.send('set k x1');
  assert.equal(await a!.next(30_000), 'done ok');
  a!.send('get k');
  assert.equal(await a!.next(30_000), 'done {"exists":true,"value":"x1"}');
  await sidecar.kill9();
  sidecar = await startSidecar(t, paths);
  b!.send('set k x2');
  assert.equal(await b!.next(30_000), 'done ok');
  // a's precondition is the modRevision it read before the crash; x2 is newer than that read.
  a!.send('cas k x3');
  const cas = await a!.next(30_000);
  b!.send('get k');
  const after = await b!.next(30_000);
  for (const worker of [a!, b!]) worker.send('close');
  for (const worker of [a!, b!]) assert.equal(await worker.next(30_000), 'closed');
  await sidecar.stop();
  const verdict = checkHistory(await loadHistory(historyDir));
  assert.equal(verdict.result, 'linearizable', `cas ${cas}, then get ${after}\n${verdict.explanation}`);
});
