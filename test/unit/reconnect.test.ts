// reconnectDelay: rand(0.5..1) x min(25 x 2^n, 2000) ms (docs/protocol.md §14).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_RECONNECT_POLICY, reconnectDelay, type ReconnectPolicy } from '../../client/reconnect.js';

const withRandom = (r: number): ReconnectPolicy => ({ ...DEFAULT_RECONNECT_POLICY, random: () => r });
const ceiling = (n: number): number => Math.min(25 * 2 ** n, 2000);

describe('reconnectDelay', () => {
  test('the default policy is 25 ms doubling up to 2 s', () => {
    assert.equal(DEFAULT_RECONNECT_POLICY.baseMs, 25);
    assert.equal(DEFAULT_RECONNECT_POLICY.maxMs, 2000);
  });

  test('with the lowest random draw the delay is half the ceiling', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => reconnectDelay(n, withRandom(0))),
      [13, 25, 50, 100, 200, 400, 800, 1000, 1000], // 12.5 rounds to 13
    );
  });

  test('with the highest random draw the delay approaches the ceiling: 25, 50, 100, ... 2000', () => {
    const almostOne = 1 - Number.EPSILON;
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => reconnectDelay(n, withRandom(almostOne))),
      [25, 50, 100, 200, 400, 800, 1600, 2000, 2000],
    );
  });

  test('for every attempt and every random draw, the delay is within [0.5, 1] x min(25 x 2^n, 2000)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const delay = reconnectDelay(n, withRandom(r));
        assert.ok(Number.isInteger(delay));
        assert.ok(delay >= Math.floor(0.5 * ceiling(n)) && delay <= ceiling(n), `attempt ${n}, random ${r}: ${delay}`);
      }),
      { numRuns: 2000 },
    );
  });

  test('delays never shrink as attempts grow, for the same draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        assert.ok(reconnectDelay(n + 1, withRandom(r)) >= reconnectDelay(n, withRandom(r)));
      }),
    );
  });

  test('huge attempt counts do not overflow to Infinity or NaN', () => {
    for (const n of [31, 1024, 1e6, Number.MAX_SAFE_INTEGER]) {
      const delay = reconnectDelay(n, withRandom(0.5));
      assert.equal(delay, 1500);
    }
  });

  test('the default random source gives jittered delays within the bounds', () => {
    const delays = Array.from({ length: 200 }, () => reconnectDelay(3));
    assert.ok(delays.every((d) => d >= 100 && d <= 200));
    assert.ok(new Set(delays).size > 1, 'jitter spreads clients out');
  });

  test('a custom policy scales the same way', () => {
    const policy = { baseMs: 100, maxMs: 300, maxAttempts: Infinity, random: () => 0 };
    assert.deepEqual([0, 1, 2, 3].map((n) => reconnectDelay(n, policy)), [50, 100, 150, 150]);
  });
});
