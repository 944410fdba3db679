// The ownership lease: a refresh of the lock is good for a share of the stale
// threshold by the monotonic clock. A process held up past it (here: its
// event loop blocked, so no refresh can run) must refuse to rename anything
// into place until it knows more, whatever the wall clock says.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { acquireOwnership, LeaseExpired } from '../../sidecar/ownership/ownership-lock.js';

test('the lease holds right after taking the lock and expires when no refresh could run for most of the stale window', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cs-lease-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const compromised: Error[] = [];
  const ownership = await acquireOwnership({
    configPath: path.join(dir, 'config.json'),
    stateDir: path.join(dir, 'state'),
    socketPath: path.join(dir, 's.sock'),
    probe: async () => false,
    onCompromised: (error) => compromised.push(error),
    staleMs: 500,
  });
  ownership.assertLease();
  // Block the event loop: no refresh can run, as in a process stopped by SIGSTOP.
  const until = performance.now() + 450;
  while (performance.now() < until);
  assert.throws(() => ownership.assertLease(), LeaseExpired);
  await ownership.release().catch((error: unknown) => assert.ok(compromised.length > 0, String(error)));
});
