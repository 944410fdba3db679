// The checkpoint renderer thread renders a large document at a lower
// priority than the event loop (Linux nice values are per thread), so a
// rewrite yields the CPU to requests: the thread alone is lowered, never the
// sidecar's main thread (which would slow every answer).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

/** The nice value of each thread of `pid`, by thread id (field 19 of /proc/<pid>/task/<tid>/stat). */
async function threadNices(pid: number): Promise<Map<number, number>> {
  const nices = new Map<number, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue; // the thread ended meanwhile
    // After the command name in parentheses: state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nices.set(Number(tid), Number(fields[19 - 3]));
  }
  return nices;
}

test('the renderer thread of a large document runs 10 nice levels below the main thread, which keeps its own', { skip: process.platform !== 'linux' && 'per-thread nice values are Linux only' }, async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  const before = await threadNices(sidecar.pid);
  const own = before.get(sidecar.pid)!; // inherited from the test run: 0 unless it runs under nice
  assert.deepEqual([...before.values()].filter((nice) => nice !== own), [], 'no thread is lowered before a large document');
  // Past 256 KiB the file is rendered by the renderer thread.
  await client.set('big', Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, 'x'.repeat(100)])), { waitForFile: true });
  await client.set('big.k0', 'again', { waitForFile: true });
  const after = await threadNices(sidecar.pid);
  assert.equal(after.get(sidecar.pid), own, 'the main thread keeps its priority');
  assert.deepEqual([...after.values()].filter((nice) => nice !== own), [Math.min(19, own + 10)], 'one thread, the renderer, is lowered');
});
