// Crashes mid-save (docs/defects.md, D1, D4, D7): 4 writer processes
// keep writing while the sidecar is SIGKILLed at random moments, 50 times,
// some of them during its start-up. After every kill the file parses, every
// acknowledged write is there (or superseded by a later write to the same
// key), no value appears that was never sent, and a restarted sidecar leaves
// no temp file behind.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';
import { startTortureWriters } from '../helpers/torture-writers.js';

const KILLS = Number(process.env.TORTURE_KILLS ?? 12);
const WRITERS = 4;

test(`${KILLS} kill -9s under ${WRITERS} writers: every acknowledged write survives, nothing invented`, async (t) => {
  const paths = await testPaths(t);
  const { maxSent, maxAcked, children: writers } = startTortureWriters(t, paths.socketPath, WRITERS);

  let killsDuringStartup = 0;
  for (let round = 0; round < KILLS; round++) {
    // Every fifth kill lands while the sidecar is still starting (lock, recovery, load).
    const duringStartup = round % 5 === 4;
    const sidecar = await startSidecar(t, paths, { noWait: duringStartup });
    await new Promise((resolve) => setTimeout(resolve, duringStartup ? 30 + Math.random() * 60 : 50 + Math.random() * 200));
    if (duringStartup && !sidecar.stderr().includes('serving')) killsDuringStartup++;
    await sidecar.kill9();

    const acked = [...maxAcked];
    let text: string;
    try {
      text = await readFile(paths.configPath, 'utf8');
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'ENOENT');
      assert.ok(acked.every((n) => n === 0), `no file, but writes were acknowledged: ${acked}`);
      continue;
    }
    const doc = JSON.parse(text) as Record<string, number>; // throws on a partial file
    for (let i = 0; i < WRITERS; i++) {
      const value = doc[`w${i}`] ?? 0;
      assert.ok(value >= acked[i]!, `round ${round}: w${i} is ${value} but ${acked[i]} was acknowledged`);
      assert.ok(value <= maxSent[i]!, `round ${round}: w${i} is ${value}, never sent (max sent ${maxSent[i]})`);
    }
  }

  const last = await startSidecar(t, paths);
  const names = await readdir(path.dirname(paths.configPath));
  assert.deepEqual(names.filter((name) => name.includes('.tmp-')), [], 'stray temp files are removed at start');
  await last.stop();
  for (const writer of writers) writer.kill('SIGKILL');
  assert.ok(maxAcked.every((n) => n > 0), `every writer got acknowledgements: ${maxAcked}`);
  t.diagnostic(`acknowledged per writer: ${maxAcked.join(', ')}; kills during start-up: ${killsDuringStartup}`);
});
