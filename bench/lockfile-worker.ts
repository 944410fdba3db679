// Durable-set baseline (b): the classic multi-process JSON config writer made
// safe with a lock. Each write: proper-lockfile lock -> read the JSON file ->
// set the key -> write a temp file + fsync -> rename over the file -> unlock.
// One write in flight per process (the lock serialises everyone anyway).
import { open, readFile, rename } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import { runTimedWrites, workerSection, writeKey, writeValue } from './durable-write-result.js';
import { numberArg, startWorker, stringArg } from './worker-lifecycle.js';

const worker = startWorker('lockfile-worker', {
  file: { type: 'string' },
  'worker-index': { type: 'string' },
  'duration-ms': { type: 'string', default: '10000' },
});
const file = stringArg(worker.values, 'file');
const index = numberArg(worker.values, 'worker-index');
const durationMs = numberArg(worker.values, 'duration-ms');
const temp = `${file}.tmp-${process.pid}`;
const section = workerSection(index);
// Poll the lock every 1-2 ms: contention is the normal case here. (The retry
// module builds its whole schedule up front, so the count must stay modest:
// 20,000 polls is ~30 s of waiting, far beyond any run.)
const lockOptions = { realpath: false, stale: 10_000, retries: { retries: 20_000, factor: 1, minTimeout: 1, maxTimeout: 2 } };

async function writeOne(seq: number): Promise<void> {
  const release = await lockfile.lock(file, lockOptions);
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, string>>;
    (doc[section] ??= {})[writeKey(seq)] = writeValue(index, seq);
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(doc, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } finally {
    await release();
  }
}

await worker.ready();
worker.finish(await runTimedWrites({ workerIndex: index, durationMs, lanes: 1, write: writeOne }));
