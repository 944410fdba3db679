// Crashes mid-save (docs/defects.md, D1, D4, D7): 4 writer processes
// keep writing while the sidecar is SIGKILLed at random moments, 50 times,
// some of them during its start-up. After every kill the file parses and no
// value appears that was never sent; once the next sidecar serves (it brings
// the file up to the commit journal at start), every write acknowledged
// before the kill is in the file (or superseded by a later write to the same
// key), and a restarted sidecar leaves no temp file behind.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';
import { startTortureWriters } from '../helpers/torture-writers.js';

const KILLS = Number(process.env.TORTURE_KILLS ?? 6);
const WRITERS = 4;

test(`${KILLS} kill -9s under ${WRITERS} writers: every acknowledged write survives, nothing invented`, async (t) => {
  const paths = await testPaths(t);
  const { maxSent, maxAcked, children: writers } = startTortureWriters(t, paths.socketPath, WRITERS);

  let killsDuringStartup = 0;
  /** Acknowledged before the last kill: the next sidecar that serves must have it all in the file. */
  let ackedAtKill: number[] | undefined;
  for (let round = 0; round < KILLS; round++) {
    // Every fifth kill lands while the sidecar is still starting (lock, recovery, load).
    const duringStartup = round % 5 === 4;
    const sidecar = await startSidecar(t, paths, { noWait: duringStartup });
    if (!duringStartup && ackedAtKill !== undefined) {
      fileHolds(await readDoc(paths.configPath), ackedAtKill, `round ${round}, once serving`);
      ackedAtKill = undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, duringStartup ? 30 + Math.random() * 60 : 50 + Math.random() * 200));
    if (duringStartup && !sidecar.stderr().includes('serving')) killsDuringStartup++;
    await sidecar.kill9();

    // Acknowledgements from before this kill (and any earlier one not checked yet): the writers only count up.
    ackedAtKill = [...maxAcked];
    const doc = await readDoc(paths.configPath);
    for (let i = 0; i < WRITERS; i++) {
      const value = doc?.[`w${i}`] ?? 0;
      assert.ok(value <= maxSent[i]!, `round ${round}: w${i} is ${value}, never sent (max sent ${maxSent[i]})`);
    }
  }

  const last = await startSidecar(t, paths);
  if (ackedAtKill !== undefined) fileHolds(await readDoc(paths.configPath), ackedAtKill, 'at the last start');
  const names = await readdir(path.dirname(paths.configPath));
  assert.deepEqual(names.filter((name) => name.includes('.tmp-')), [], 'stray temp files are removed at start');
  await last.stop();
  for (const writer of writers) writer.kill('SIGKILL');
  assert.ok(maxAcked.every((n) => n > 0), `every writer got acknowledgements: ${maxAcked}`);
  t.diagnostic(`acknowledged per writer: ${maxAcked.join(', ')}; kills during start-up: ${killsDuringStartup}`);
});

/** The config file's document (it always parses: never a partial file), or undefined when there is none. */
async function readDoc(configPath: string): Promise<Record<string, number> | undefined> {
  try {
    return JSON.parse(await readFile(configPath, 'utf8')) as Record<string, number>;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Every writer's acknowledged count is in the file (or a later one). */
function fileHolds(doc: Record<string, number> | undefined, acked: readonly number[], when: string): void {
  if (doc === undefined) {
    assert.ok(acked.every((n) => n === 0), `${when}: no file, but writes were acknowledged: ${acked}`);
    return;
  }
  acked.forEach((n, i) => assert.ok((doc[`w${i}`] ?? 0) >= n, `${when}: w${i} is ${doc[`w${i}`]} but ${n} was acknowledged before the kill`));
}
