// Numbers and text are exact or refused (the bullet of that name in
// docs/decisions.md): a number beyond ±(2^53−1) or not finite, invalid UTF-8, a
// duplicate key, or nesting beyond maxDepth is refused with the path —
// from a client, from the command line, in a hand edit and at start — and
// never stored changed. Before, `set big 12345678901234567890` read back
// 12345678901234567000, a hand-edited 18446744073709551615 was rewritten
// rounded, a file holding 1e400 loaded and then failed every get, and
// {<ff>:1, <fe>:2} was stored as {"\ufffd": 2}.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect, ConfigSidecarError } from '../../client/index.js';
import { healthOnceNotOk } from '../helpers/health-wait.js';
import { framed, key, setWithRawValue } from '../helpers/msgpack-bytes.js';
import { CLI } from '../helpers/paths.js';
import { rawConnect } from '../helpers/raw-socket.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

const quarantineOf = (paths: TestPaths): string => path.join(path.dirname(paths.configPath), '.config.json.sidecar', 'quarantine');

test('the CLI refuses a number it cannot pass on exactly, and says how to store it as text', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const cli = (...args: string[]) => runNode(CLI, [...args, '--socket', paths.socketPath]);

  const values: [string, string][] = [['12345678901234567890', '12345678901234567000'], ['9007199254740993', '9007199254740992'], ['{"n": [1, 1e400]}', 'Infinity']];
  for (const [value, readAs] of values) {
    const refused = await cli('set', 'big', value);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /cannot set big: VALUE number .* (is outside the safe integer range ±9007199254740991|is too large for a double)/);
    assert.ok(refused.stderr.includes(`reads it as ${readAs}`), refused.stderr);
    assert.match(refused.stderr, /--string/);
  }
  assert.equal((await cli('get', 'big')).code, 1, 'nothing was stored');

  assert.equal((await cli('set', 'big', '--string', '12345678901234567890')).code, 0);
  assert.equal((await cli('get', 'big', '--json')).stdout.trim(), '"12345678901234567890"');
  assert.equal((await cli('set', 'ok', '9007199254740991')).code, 0, 'the largest safe integer is fine');
  assert.equal((await cli('get', 'ok')).stdout.trim(), '9007199254740991');
});

test('a client cannot store a number beyond ±(2^53−1), invalid UTF-8 or a duplicate key; the connection and the document stay', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const client = connect({ socketPath: paths.socketPath });
  t.after(() => client.close());
  await client.set('keep', 1, { waitForFile: true });

  await assert.rejects(client.set('big', { list: [2 ** 60] }), (error: unknown) => {
    assert.ok(error instanceof ConfigSidecarError);
    assert.equal(error.code, 'BAD_REQUEST');
    assert.match(error.message, /number 1152921504606847000 is outside the safe integer range .* at "value.list.0"/);
    return true;
  });

  const peer = await rawConnect(paths.socketPath);
  t.after(() => peer.destroy());
  await peer.hello();
  const refusals: [string, Buffer, RegExp][] = [
    ['uint64 12345678901234567890', setWithRawValue(1, 'cfab54a98ceb1f0ad2'), /integer 12345678901234567890 is outside/],
    ['a string with the byte 0xff', setWithRawValue(2, 'a361ff62'), /invalid UTF-8 in a string at "value"/],
    ['the map {<ff>: 1, <fe>: 2}', setWithRawValue(3, '82a1ff01a1fe02'), /invalid UTF-8 in a map key at "value.\uFFFD"/],
    ['the map {"a": 1, "a": 2}', setWithRawValue(4, '82a16101a16102'), /duplicate map key .* at "value.a"/],
    ['"path" twice in one request', framed([0x84], key('id'), [5], key('op'), key('get'), key('path'), key('a'), key('path'), key('b')), /duplicate map key/],
  ];
  for (const [what, frame, message] of refusals) {
    peer.write(frame);
    const answer = await peer.next();
    assert.equal(answer.ok, false, what);
    assert.equal((answer.error as { code: string }).code, 'BAD_REQUEST', what);
    assert.match((answer.error as { message: string }).message, message, what);
  }
  assert.equal((await peer.request({ id: 6, op: 'ping' })).ok, true, 'the connection is still served');
  assert.deepEqual(await client.get(''), { keep: 1 });
  assert.deepEqual(JSON.parse(await readFile(paths.configPath, 'utf8')), { keep: 1 });
});

const nested80 = '{"a":'.repeat(80) + '1' + '}'.repeat(80);
const handEdits: [string, Buffer, RegExp][] = [
  ['a 20-digit integer', Buffer.from('{"keep": 1, "big": 18446744073709551615}\n'), /number 18446744073709551615 is outside the safe integer range .* at "big" \(line 1, column 20\); store it as a string/],
  ['1e400', Buffer.from('{"keep": 1,\n "big": 1e400}\n'), /number 1e400 is too large for a double .* at "big" \(line 2, column 9\)/],
  ['invalid UTF-8 in a value', Buffer.concat([Buffer.from('{"keep": 1, "name": "a'), Buffer.from([0xff]), Buffer.from('b"}\n')]), /invalid UTF-8 \(byte 0xff at offset 22\) at "name"/],
  ['invalid UTF-8 keys', Buffer.concat([Buffer.from('{"keep": 1, "'), Buffer.from([0xff]), Buffer.from('": 1, "'), Buffer.from([0xfe]), Buffer.from('": 2}\n')]), /invalid UTF-8 \(byte 0xff at offset 13\) at "\uFFFD"/],
  ['a duplicate key', Buffer.from('{"keep": 1, "a": {"x": 1, "x": 2}}\n'), /duplicate key "x" .* at "a.x"/],
  ['a lone surrogate escape', Buffer.from('{"keep": 1, "s": "\\ud800"}\n'), /lone surrogate .* at "s"/],
  ['nesting 80 deep', Buffer.from(`{"keep": 1, "deep": ${nested80}}\n`), /nesting deeper than 63 levels at "deep(\.a){62}"/],
];

for (const [what, bytes, problem] of handEdits) {
  test(`a hand edit holding ${what} is refused like any invalid file: kept in quarantine, health degraded, nothing changed`, async (t) => {
    const paths = await testPaths(t);
    await startSidecar(t, paths);
    const client = connect({ socketPath: paths.socketPath });
    t.after(() => client.close());
    await client.set('keep', 1, { waitForFile: true });
    const before = await readFile(paths.configPath);

    await writeFile(paths.configPath, bytes);
    const health = await healthOnceNotOk(client);
    assert.equal(health.status, 'degraded');
    assert.match(health.reasons.join('\n'), problem);
    assert.deepEqual(await client.get(''), { keep: 1 }, 'the last good document is still served, whole');
    const kept = await readdir(quarantineOf(paths));
    assert.equal(kept.length, 1);
    assert.deepEqual(await readFile(path.join(quarantineOf(paths), kept[0]!)), bytes, 'kept byte for byte');
    assert.deepEqual(await readFile(paths.configPath), bytes, 'left in place for its author, not rewritten');
    assert.notDeepEqual(before, bytes);
  });
}

for (const [what, bytes, problem] of handEdits.filter(([name]) => ['a 20-digit integer', '1e400', 'invalid UTF-8 keys', 'nesting 80 deep'].includes(name))) {
  test(`a file holding ${what} at start is refused with the path, and kept in quarantine untouched`, async (t) => {
    const paths = await testPaths(t);
    await mkdir(path.dirname(paths.configPath), { recursive: true });
    await writeFile(paths.configPath, bytes);
    const sidecar = await startSidecar(t, paths, { noWait: true });
    assert.equal(await sidecar.exitWithin(), 1);
    assert.match(sidecar.stderr(), problem);
    const kept = await readdir(quarantineOf(paths));
    assert.deepEqual(await readFile(path.join(quarantineOf(paths), kept[0]!)), bytes);
  });
}
