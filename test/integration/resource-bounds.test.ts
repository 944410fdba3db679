// What clients that hold without reading can cost the sidecar: long watch
// paths, answers held at a graceful stop, a crowd of readers that stopped,
// connections that say nothing. Each case prints the sidecar's RSS before,
// at its peak and after (the figures of the README's limits section).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { connect, type ConfigClient } from '../../client/index.js';
import { encodeMessage, type Limits } from '../../protocol/index.js';
import { MiB, rssBytes, rssFigure, samplePeakRss } from '../helpers/process-memory.js';
import { rawConnect, type RawPeer } from '../helpers/raw-socket.js';
import { startSidecar, type SidecarProcess } from '../helpers/sidecar-process.js';
import { testPaths, type TestPaths } from '../helpers/temp-dir.js';

interface Served {
  paths: TestPaths;
  proc: SidecarProcess;
  client: ConfigClient;
}

async function serveWith(t: TestContext, limits: Partial<Limits> = {}): Promise<Served> {
  const paths = await testPaths(t);
  const proc = await startSidecar(t, paths, { extraArgs: Object.entries(limits).flatMap(([name, value]) => ['--limit', `${name}=${value}`]) });
  const client = connect({ socketPath: paths.socketPath, defaultTimeoutMs: 30_000 });
  t.after(() => client.close());
  return { paths, proc, client };
}

async function helloFrom(served: Served): Promise<RawPeer> {
  const peer = await rawConnect(served.paths.socketPath);
  assert.equal((await peer.hello()).type, 'hello');
  return peer;
}

function gets(count: number, path: string): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => encodeMessage({ id: i + 1, op: 'get', path })));
}

async function getsAnswered(client: ConfigClient): Promise<number> {
  return ((await client.stats()).requests as Record<string, number>).get ?? 0;
}

/** Polls a count the sidecar reports until it reaches `target` (no event announces it), within the bound. */
async function waitForCount(count: () => Promise<number>, target: number, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let seen = await count(); seen < target; seen = await count()) {
    if (Date.now() > deadline) throw new Error(`${what}: ${seen} of ${target} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const linuxOnly = (t: TestContext) => (process.platform === 'linux' ? false : (t.skip('reads RSS from /proc'), true));

test('watch paths are bounded in bytes and depth; 2 connections x 256 watches at the bound leave memory and write latency flat', async (t) => {
  if (linuxOnly(t)) return;
  const served = await serveWith(t);
  const { client, proc } = served;
  await client.set('w', { value: 1 });
  const probe = await helloFrom(served);
  const longPath = ['w', 'x'.repeat(1024 * 1024 - 100)];
  const refused = await probe.request({ id: 1, op: 'watch', path: longPath });
  assert.equal((refused.error as { code: string }).code, 'LIMIT_EXCEEDED');
  assert.match((refused.error as { message: string }).message, /the watch path is \d+ bytes, more than maxWatchPathBytes 4096/);
  const deep = await probe.request({ id: 2, op: 'watch', path: Array.from({ length: 65 }, () => 'a') });
  assert.match((deep.error as { message: string }).message, /65 segments, more than maxDepth 64/);
  probe.destroy();

  const before = (await rssBytes(proc.pid))!;
  const sampler = samplePeakRss(proc.pid);
  const timeSet = async (i: number) => {
    const started = performance.now();
    await client.set('w.value', i);
    return performance.now() - started;
  };
  const idle = [];
  for (let i = 0; i < 20; i++) idle.push(await timeSet(i));
  const watchers: RawPeer[] = [];
  for (let c = 0; c < 2; c++) {
    const peer = await helloFrom(served);
    watchers.push(peer);
    // Every watch at the byte bound, each path distinct, all under the key being written.
    peer.write(Buffer.concat(Array.from({ length: 256 }, (_, i) => encodeMessage({ id: i + 1, op: 'watch', path: ['w', `${i}`.padEnd(4095 - 1, 'p')], initial: 'none' }))));
    for (let i = 0; i < 256; i++) assert.equal((await peer.next(30_000)).ok, true);
  }
  const watched = [];
  for (let i = 0; i < 20; i++) watched.push(await timeSet(100 + i));
  const peak = await sampler.stop();
  for (const peer of watchers) peer.destroy();
  const after = (await rssBytes(proc.pid))!;
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  console.log(rssFigure('512 watches on 4 KiB paths', { before, peak, after }) + `; set latency median ${median(idle).toFixed(1)} ms without them, ${median(watched).toFixed(1)} ms with them`);
  assert.ok(peak - before < 100 * MiB, `watches at the bound cost ${Math.round((peak - before) / MiB)} MB`);
});

test('a graceful stop keeps to the output bound: 2 readers with 1,000 unread gets of a 1 MB document each do not make the stop encode them all', async (t) => {
  if (linuxOnly(t)) return;
  const served = await serveWith(t);
  const { client, proc } = served;
  await client.set('doc', 'd'.repeat(1000 * 1000));
  const readers: RawPeer[] = [];
  for (let c = 0; c < 2; c++) {
    const peer = await helloFrom(served);
    peer.pause();
    peer.write(gets(1000, ''));
    readers.push(peer);
  }
  await waitForCount(() => getsAnswered(client), 2000, 'the sidecar to answer both readers');
  client.close();
  const before = (await rssBytes(proc.pid))!;
  const sampler = samplePeakRss(proc.pid, 5);
  proc.child.kill('SIGTERM');
  const code = await proc.exitWithin(30_000);
  const peak = Math.max(before, await sampler.stop());
  console.log(rssFigure('stop with 2 x 1,000 unread 1 MB answers', { before, peak }) + ` (exit ${code})`);
  assert.equal(code, 0);
  assert.ok(peak - before < 200 * MiB, `the stop cost ${Math.round((peak - before) / MiB)} MB`);
  for (const peer of readers) peer.destroy();
});

test('readers that stopped reading are bounded all together: past maxTotalOutboundBytes the longest-behind are cut off, and the others are served', async (t) => {
  if (linuxOnly(t)) return;
  const served = await serveWith(t, { maxTotalOutboundBytes: 32 * MiB });
  const { client, proc } = served;
  await client.set('doc', 'd'.repeat(1000 * 1000));
  const before = (await rssBytes(proc.pid))!;
  const sampler = samplePeakRss(proc.pid);
  const stalled: RawPeer[] = [];
  for (let c = 0; c < 8; c++) {
    const peer = await helloFrom(served);
    peer.pause();
    const answered = await getsAnswered(client);
    peer.write(gets(30, ''));
    // One reader at a time, so which has been behind longest is well defined.
    await waitForCount(() => getsAnswered(client), answered + 30, `reader ${c} to be answered`);
    stalled.push(peer);
  }
  const peak = await sampler.stop();
  assert.equal(await client.get('doc').then((doc) => (doc as string).length), 1000 * 1000, 'a reader that reads is served');
  // A paused socket cannot see its close: each reader reads again and either gets its 30 answers or the end.
  const cut: number[] = [];
  for (const [i, peer] of stalled.entries()) {
    peer.resume();
    let answers = 0;
    while (answers < 30 && (await peer.next(30_000).then(() => true, () => false))) answers++;
    if (answers < 30) cut.push(i);
    peer.destroy();
  }
  const after = (await rssBytes(proc.pid))!;
  console.log(rssFigure('8 stalled readers of 30 x 1 MB answers, maxTotalOutboundBytes 32 MiB', { before, peak, after }) + `; cut off: readers ${cut.join(', ')}`);
  // About 9 MB each (8 MiB, then one more answer): with 32 MiB for all, at most 3 stay; the first ones, behind longest, go.
  assert.ok(cut.length >= 4, `only readers ${cut.join(', ')} were cut off`);
  assert.deepEqual(cut, cut.map((_, i) => i), 'the longest-behind first');
  assert.ok(peak - before < 160 * MiB, `${Math.round((peak - before) / MiB)} MB held`);
  assert.match(proc.stderr(), /maxTotalOutboundBytes 33554432/);
});

test('a connection that holds no watch and sends nothing is closed after idleTimeoutMs; a watching one stays', async (t) => {
  const served = await serveWith(t, { idleTimeoutMs: 1000 });
  const idle = await helloFrom(served);
  const watcher = await helloFrom(served);
  assert.equal((await watcher.request({ id: 1, op: 'watch', path: 'a', initial: 'none' })).ok, true);
  const started = Date.now();
  const farewell = await idle.next(10_000);
  assert.equal((farewell.error as { code: string }).code, 'LIMIT_EXCEEDED');
  assert.match((farewell.error as { message: string }).message, /sent nothing for 1000 ms and holds no watch \(idleTimeoutMs\)/);
  await idle.closed();
  assert.ok(Date.now() - started >= 900, 'not before the timeout');
  // The watcher, just as silent, is still there to receive the next change (made on a fresh connection:
  // the test's own library client may itself have been idle for longer than the 1 s timeout by now).
  const writer = await helloFrom(served);
  assert.equal((await writer.request({ id: 1, op: 'set', path: 'a', value: 1 })).ok, true);
  writer.destroy();
  assert.equal((await watcher.next(10_000)).type, 'event');
  assert.equal(watcher.isClosed, false);
  watcher.destroy();
});
