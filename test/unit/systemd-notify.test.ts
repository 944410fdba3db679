// When the sidecar pings systemd's watchdog: WATCHDOG_USEC/2, only for the
// process WATCHDOG_PID names (or any, when it names none).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchdogIntervalMs } from '../../sidecar/ops/systemd-notify.js';

test('the ping interval is half of WATCHDOG_USEC, in ms', () => {
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 100), 15_000);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '200000', WATCHDOG_PID: '100' }, 100), 100);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '1' }, 100), 1, 'never a zero interval');
});

test('no watchdog when it is not set, not a positive integer, or meant for another process', () => {
  assert.equal(watchdogIntervalMs({}, 100), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '' }, 100), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 100), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '-5' }, 100), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '1.5' }, 100), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 100), undefined);
  assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '200000', WATCHDOG_PID: '101' }, 100), undefined);
});
