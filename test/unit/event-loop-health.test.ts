// A blocked event loop shows in health: the monitor measures the stall for
// real (this process blocks its own loop), and health turns degraded while
// the stall is recent, then recovers once it has aged out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { EventLoopMonitor } from '../../sidecar/ops/event-loop-monitor.js';
import { EVENT_LOOP_STALL_MS, Health } from '../../sidecar/ops/health.js';

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a synchronous stall, as a blocking fs call or a huge JSON.stringify would cause
  }
}

test('a stall past the threshold degrades health while it is recent, and ages out', async () => {
  const windowMs = 200;
  const monitor = new EventLoopMonitor(windowMs);
  monitor.start();
  try {
    await delay(50);
    const health = new Health();
    assert.equal(health.report('/c.json', true, monitor.recentMaxMs()).status, 'ok');
    blockFor(EVENT_LOOP_STALL_MS + 150);
    await delay(20); // let the monitor take the sample the stall delayed
    const stalled = health.report('/c.json', true, monitor.recentMaxMs());
    assert.equal(stalled.status, 'degraded');
    assert.match(stalled.reasons.join('\n'), /event loop was held up for \d+ ms/);
    assert.ok(monitor.summary().maxMs >= EVENT_LOOP_STALL_MS, 'stats keep the worst delay since start');
    // Two windows later the stall has left the recent view.
    const deadline = Date.now() + 10 * windowMs;
    while (monitor.recentMaxMs() > EVENT_LOOP_STALL_MS && Date.now() < deadline) await delay(windowMs / 4);
    assert.equal(health.report('/c.json', true, monitor.recentMaxMs()).status, 'ok');
  } finally {
    monitor.stop();
  }
});
