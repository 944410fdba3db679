// systemd Type=notify: a real sidecar talks to a real datagram NOTIFY_SOCKET
// through systemd-notify — ready only once it serves, watchdog pings at
// WATCHDOG_USEC/2, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on
// SIGTERM — and serves all the same when systemd-notify is missing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';
import { receiverUnavailable, startNotifyReceiver } from '../helpers/notify-receiver.js';
import { runNode } from '../helpers/run-process.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

function systemdNotifyUnavailable(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('systemd-notify', ['--version'], (error) =>
      resolve(error === null ? undefined : `systemd-notify is not installed (.ci/run installs Debian's systemd package when it can): ${error.message.split('\n')[0]}`),
    );
  });
}

test('READY=1 with STATUS and MAINPID once serving, WATCHDOG=1 pings, RELOADING=1/READY=1 around SIGHUP, STOPPING=1 on SIGTERM', async (t) => {
  const unavailable = (await receiverUnavailable()) ?? (await systemdNotifyUnavailable());
  if (unavailable !== undefined) {
    t.skip(unavailable);
    return;
  }
  const paths = await testPaths(t);
  const notifySocket = path.join(paths.dir, 'notify.sock');
  const receiver = await startNotifyReceiver(t, notifySocket);
  // A 200 ms watchdog: pings every 100 ms.
  const sidecar = await startSidecar(t, paths, { env: { NOTIFY_SOCKET: notifySocket, WATCHDOG_USEC: '200000' } });

  const ready = await receiver.waitFor((message) => message.includes('READY=1'));
  assert.equal(ready, 0, 'nothing is announced before readiness');
  const readyMessage = receiver.messages[ready]!;
  assert.ok(readyMessage.includes(`MAINPID=${sidecar.pid}`), JSON.stringify(readyMessage));
  assert.ok(readyMessage.includes(`STATUS=serving ${paths.configPath} on ${paths.socketPath}`), JSON.stringify(readyMessage));
  assert.equal((await runNode(CLI, ['set', 'a', '1', '--socket', paths.socketPath])).code, 0, 'READY=1 meant it serves');

  const firstPing = await receiver.waitFor((message) => message.includes('WATCHDOG=1'), ready + 1);
  await receiver.waitFor((message) => message.includes('WATCHDOG=1'), firstPing + 1);

  // A second sidecar for the same file cannot start, and says so in its status line.
  const rival = await startSidecar(t, paths, { noWait: true, env: { NOTIFY_SOCKET: notifySocket } });
  assert.equal(await rival.exitWithin(), 1);
  const refused = receiver.messages.find((message) => message.includes(`MAINPID=${rival.pid}`));
  assert.ok(refused !== undefined && refused.some((line) => line.startsWith('STATUS=cannot start: ')), JSON.stringify(refused));
  assert.ok(!refused.includes('READY=1'));

  const beforeReload = receiver.messages.length;
  sidecar.child.kill('SIGHUP');
  const reloading = await receiver.waitFor((message) => message.includes('RELOADING=1'), beforeReload);
  assert.ok(receiver.messages[reloading]!.some((line) => /^MONOTONIC_USEC=\d+$/.test(line)));
  await receiver.waitFor((message) => message.includes('READY=1'), reloading + 1);

  assert.equal(await sidecar.stop(), 0);
  const stopping = await receiver.waitFor((message) => message.includes('STOPPING=1'));
  assert.ok(receiver.messages[stopping]!.includes(`MAINPID=${sidecar.pid}`));
  assert.deepEqual(
    receiver.messages.slice(stopping + 1).filter((message) => message.includes('WATCHDOG=1')),
    [],
    'no watchdog ping after STOPPING=1',
  );
});

test('NOTIFY_SOCKET set but no systemd-notify on PATH: it serves anyway and logs why readiness is not reported', async (t) => {
  const paths = await testPaths(t);
  const sidecar = await startSidecar(t, paths, {
    env: { NOTIFY_SOCKET: path.join(paths.dir, 'nobody-listens.sock'), WATCHDOG_USEC: '200000', PATH: path.join(paths.dir, 'empty-path') },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no warning within 10 s; stderr:\n${sidecar.stderr()}`)), 10_000);
    const check = () => {
      if (!sidecar.stderr().includes('systemd-notify was not found')) return;
      clearTimeout(timer);
      sidecar.child.stderr!.off('data', check);
      resolve();
    };
    sidecar.child.stderr!.on('data', check);
    check();
  });
  assert.equal((await runNode(CLI, ['set', 'a', '1', '--socket', paths.socketPath, '--timeout', '30000'])).code, 0);
  assert.equal(await sidecar.stop(), 0);
  assert.equal(sidecar.stderr().split('systemd-notify was not found').length - 1, 1, 'warned once, not at every watchdog tick');
});
