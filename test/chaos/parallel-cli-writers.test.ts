// Parallel `config set` processes once kept 2 keys of 20 (docs/defects.md,
// D6). Through one sidecar, every key of 20 and of
// CLI_WRITERS parallel CLI processes (20 when the file runs alone, 100 in npm run
// test:chaos) must be in the file.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

for (const writers of [20, Number(process.env.CLI_WRITERS ?? 20)]) {
  test(`${writers} parallel "config-sidecar set" processes leave all ${writers} keys`, async (t) => {
    const paths = await testPaths(t);
    await startSidecar(t, paths);
    const results = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        // Niced: 100 Node start-ups at once would otherwise starve whatever test runs beside this one; they still all race.
        runNode(CLI, ['set', `test_key_${i}`, `value_${i}`, '--socket', paths.socketPath, '--timeout', '30000'], { timeoutMs: 60_000, niceness: 10 }),
      ),
    );
    for (const [i, result] of results.entries()) assert.equal(result.code, 0, `writer ${i} failed: ${result.stderr}`);

    const onDisk = JSON.parse(await readFile(paths.configPath, 'utf8')) as Record<string, string>;
    assert.equal(Object.keys(onDisk).length, writers);
    for (let i = 0; i < writers; i++) assert.equal(onDisk[`test_key_${i}`], `value_${i}`);

    const dumped = await runNode(CLI, ['dump', '--socket', paths.socketPath]);
    assert.deepEqual(JSON.parse(dumped.stdout), onDisk);
  });
}
