// Hostile input on real sockets (docs/defects.md, D20: unbounded input).
// Every attack gets a clear, specific answer or a clean close, costs the
// sidecar nothing it cannot bound, and never reaches Object.prototype; the
// sidecar stays up; and a well-behaved client in another process is answered
// while the attacks run (its latency is reported, not asserted). The attacks themselves are in
// test/helpers/hostile-attacks.ts. test/integration/hostile-peers.test.ts holds
// the first cases (request before hello, bad version, 2^32-1 after hello, a
// __proto__ value key, an invalid request, garbage); these extend them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS } from '../../protocol/index.js';
import { attacks, errorOf, flood, greeted, LIMITS } from '../helpers/hostile-attacks.js';
import type { LatencySummary } from '../helpers/latency-probe.js';
import { header } from '../helpers/msgpack-bytes.js';
import { startLineProcess } from '../helpers/line-process.js';
import { rawConnect, type RawPeer } from '../helpers/raw-socket.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

const helper = (name: string) => fileURLToPath(new URL(`../helpers/${name}`, import.meta.url));

/** The soft limit on open files of this process and the sidecar it starts (`ulimit -n`). */
function openFileLimit(): number {
  if (process.platform === 'win32') return Infinity;
  const text = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
  return text === 'unlimited' ? Infinity : Number(text);
}
const FILES = openFileLimit();
/** Quiet and attacked 250 ms windows measured by the well-behaved client: HOSTILE_LATENCY_ROUNDS: 1 when the file runs alone, 8 in test:chaos. */
const LATENCY_ROUNDS = Number(process.env.HOSTILE_LATENCY_ROUNDS ?? 1);
/** Each end of a flood holds one descriptor per connection, plus what node itself keeps open. */
const floodFits = (connections: number): true | string =>
  FILES >= connections + 300 || `ulimit -n is ${FILES}: ${connections} connections at once need about ${connections + 300}`;

test('hostile input on a real socket: answered or cut off, bounded, never polluting; others keep their latency', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths, {
    extraArgs: ['--limit', `maxConnections=${LIMITS.maxConnections}`, '--limit', `partialFrameIdleMs=${LIMITS.partialFrameIdleMs}`],
  });
  const probe = await startLineProcess(t, helper('latency-probe.js'), [paths.socketPath]);
  const measure = async (name: string, ms: number): Promise<LatencySummary> => {
    probe.send(`measure ${name} ${ms}`);
    const result = JSON.parse(await probe.next(ms + 15_000)) as LatencySummary;
    assert.deepEqual(result.errors, [], 'the well-behaved client never saw an error');
    return result;
  };

  for (const [name, attack] of Object.entries(attacks)) await t.test(name, () => attack(paths));

  await t.test('1,000 connections at once: exactly maxConnections are served, every other one is refused with LIMIT_EXCEEDED, none dropped silently', { skip: floodFits(1000) !== true && floodFits(1000) }, async (st) => {
    const watcher = await greeted(paths);
    const already = (await watcher.request({ id: 1, op: 'stats' })).connections as number;
    const outcome = await flood(paths, 1000);
    st.after(() => outcome.served.forEach((peer) => peer.destroy()));
    st.diagnostic(`served ${outcome.served.length}, refused ${outcome.refused}, connects retried after EAGAIN ${outcome.backlogRetries}`);
    assert.equal(outcome.silent, 0, 'every connection got an answer');
    assert.equal(outcome.served.length, LIMITS.maxConnections - already, `served ${outcome.served.length} with ${already} already connected`);
    assert.equal(outcome.refused, 1000 - outcome.served.length);
    assert.equal((await watcher.request({ id: 2, op: 'stats' })).connections, LIMITS.maxConnections, 'full, never over');
    for (const peer of outcome.served) peer.destroy();
    assert.equal((await watcher.request({ id: 3, op: 'ping' })).ok, true);
    watcher.destroy();
  });

  await t.test('peers that never close their side after an error do not keep their descriptors', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    const fds = async () => (await readdir(`/proc/${sidecar.pid}/fd`)).length;
    const baseline = await fds();
    const zombies: RawPeer[] = [];
    for (let i = 0; i < 100; i++) {
      const peer = await rawConnect(paths.socketPath, { allowHalfOpen: true });
      peer.write(header(0));
      assert.equal(errorOf(await peer.next()).code, 'PROTOCOL');
      zombies.push(peer);
    }
    const deadline = Date.now() + 10_000;
    while ((await fds()) > baseline + 5) {
      assert.ok(Date.now() < deadline, `the sidecar still holds ${(await fds()) - baseline} descriptors of closed connections`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const peer of zombies) peer.destroy();
  });

  await t.test('a well-behaved client in another process is answered without an error while every attack runs (its latency is reported)', async (st) => {
    const attacker = await startLineProcess(st, helper('attacker.js'), [paths.socketPath]);
    // The attacker's own CPU is not the sidecar's doing: at a lower priority it cannot starve the
    // measuring client of a core on a small machine, so what remains is what the sidecar lets attacks cost.
    os.setPriority(attacker.child.pid!, 15);
    const quiet: number[] = [];
    const attacked: number[] = [];
    let attacksRun = 0;
    let floods = 0;
    // Quiet and attacked windows alternate, so load from anything else on the machine falls on both alike.
    for (let round = 0; round < LATENCY_ROUNDS; round++) {
      quiet.push(...(await measure('quiet', 250)).samples);
      attacker.send('start');
      attacked.push(...(await measure('attacked', 250)).samples);
      attacker.send('stop');
      const result = JSON.parse(await attacker.next(30_000)) as { attacks: number; floods: number; failures: string[] };
      assert.deepEqual(result.failures, [], 'every attack got its expected answer');
      attacksRun += result.attacks;
      floods += result.floods;
    }
    const before = summary(quiet);
    const during = summary(attacked);
    st.diagnostic(`p99 quiet ${before.p99.toFixed(3)} ms (${quiet.length} gets), under attack ${during.p99.toFixed(3)} ms (${attacked.length} gets, ${attacksRun} attacks, ${floods} floods of 400)`);
    st.diagnostic(`p50 quiet ${before.p50.toFixed(3)} ms, under attack ${during.p50.toFixed(3)} ms; max ${before.max.toFixed(1)} / ${during.max.toFixed(1)} ms`);
    assert.ok(quiet.length > 0 && attacked.length > 0, 'the client was answered in both windows');
    assert.ok(attacksRun >= 2 * LATENCY_ROUNDS && floods >= 1, `the attacks ran (${attacksRun}, ${floods} floods)`);
    // Timing is not asserted here (it is a benchmark's job, judged against a baseline in the same run):
    // the ratio is reported so a regression shows in the test output.
    st.diagnostic(`p99 under attack / quiet p99: ${(during.p99 / before.p99).toFixed(2)}x`);
  });

  await t.test('after all of it: nothing polluted, nothing renamed, the sidecar healthy', async () => {
    const peer = await greeted(paths);
    // Pollution of Object.prototype would show as a property of a fresh object, or break the schemas every request goes through.
    assert.equal((await peer.request({ id: 1, op: 'set', path: 'fresh', value: {}, waitForFile: true })).ok, true);
    assert.deepEqual((await peer.request({ id: 2, op: 'get', path: 'fresh' })).value, {});
    for (const [i, path] of ['fresh.polluted', 'polluted', 'victim', 'victim.__proto_', 'a', 'ok', 'slow'].entries()) {
      assert.equal(errorOf(await peer.request({ id: 10 + i, op: 'get', path })).code, 'NOT_FOUND', path);
    }
    const doc = (await peer.request({ id: 20, op: 'get', path: '' })).value as Record<string, unknown>;
    assert.deepEqual(Object.keys(doc).sort(), ['fresh', 'probe']);
    assert.doesNotMatch(await readFile(paths.configPath, 'utf8'), /polluted|__proto_|constructor|prototype/);
    const health = await peer.request({ id: 21, op: 'health' });
    assert.equal(health.status, 'ok', JSON.stringify(health));
    // Headers claiming 4 GiB were refused, not believed: the sidecar stays at its ordinary size.
    const rss = ((await peer.request({ id: 22, op: 'stats' })).memory as { rssBytes: number }).rssBytes;
    assert.ok(rss < 512 * 1024 * 1024, `the sidecar's resident memory is ${Math.round(rss / 1024 / 1024)} MiB`);
    peer.destroy();
    assert.equal(sidecar.child.exitCode, null, 'the sidecar is still running');
  });
});

test('1,100 connections at once against the default maxConnections (1024): the excess is refused, none dropped', { skip: floodFits(1100) !== true && floodFits(1100) }, async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const outcome = await flood(paths, DEFAULT_LIMITS.maxConnections + 76);
  t.after(() => outcome.served.forEach((peer) => peer.destroy()));
  t.diagnostic(`served ${outcome.served.length}, refused ${outcome.refused}, connects retried after EAGAIN ${outcome.backlogRetries}`);
  assert.equal(outcome.silent, 0);
  assert.equal(outcome.served.length, DEFAULT_LIMITS.maxConnections);
  assert.equal(outcome.refused, 76);
  for (const peer of outcome.served) peer.destroy();
  const peer = await greeted(paths);
  assert.equal((await peer.request({ id: 1, op: 'ping' })).ok, true);
  peer.destroy();
});

function summary(samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1)! };
}
