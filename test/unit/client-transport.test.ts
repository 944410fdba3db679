// connectPath: the name the client dials. Unix paths as given; on Windows the
// pipe name node-ipc gives the sidecar's server for the same path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectPath } from '../../client/transport.js';

test('Unix socket paths are dialled as given', () => {
  assert.equal(connectPath('/run/user/1000/config-sidecar/s.sock', 'linux'), '/run/user/1000/config-sidecar/s.sock');
  assert.equal(connectPath('/tmp/x/s.sock', 'darwin'), '/tmp/x/s.sock');
});

test('on Windows a pipe name is kept and any other path named the way the server names it', () => {
  assert.equal(connectPath('\\\\.\\pipe\\config-sidecar-alice', 'win32'), '\\\\.\\pipe\\config-sidecar-alice');
  // node-ipc's server: \\.\pipe\ + the path without its leading slash, slashes as dashes.
  assert.equal(connectPath('/tmp/app/s.sock', 'win32'), '\\\\.\\pipe\\tmp-app-s.sock');
  assert.equal(connectPath('C:\\app\\s.sock', 'win32'), '\\\\.\\pipe\\C:\\app\\s.sock');
});
