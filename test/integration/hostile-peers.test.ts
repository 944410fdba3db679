// Bad input gets a clear error naming what was wrong; the sidecar stays up and
// other clients are unaffected (docs/defects.md, D20: unbounded input).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../client/index.js';
import { encodeFrame, encodeMessage, encodeValue } from '../../protocol/index.js';
import { rawConnect } from '../helpers/raw-socket.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { testPaths } from '../helpers/temp-dir.js';

test('hostile peers are answered and cut off; a well-behaved client never notices', async (t) => {
  const paths = await testPaths(t);
  await startSidecar(t, paths);
  const good = connect({ socketPath: paths.socketPath });
  t.after(() => good.close());
  await good.set('kept', 'yes');

  await t.test('a request before hello: PROTOCOL error, then close', async () => {
    const peer = await rawConnect(paths.socketPath);
    peer.write(encodeMessage({ id: 1, op: 'get', path: '' }));
    const frame = await peer.next();
    assert.equal(frame.type, 'error');
    assert.equal((frame.error as { code: string }).code, 'PROTOCOL');
    await peer.closed();
  });

  await t.test('an unsupported protocol version: UNSUPPORTED_VERSION, then close', async () => {
    const peer = await rawConnect(paths.socketPath);
    peer.write(encodeMessage({ type: 'hello', protocol: 2, client: { name: 'future', pid: 1 } }));
    const frame = await peer.next();
    assert.equal((frame.error as { code: string }).code, 'UNSUPPORTED_VERSION');
    await peer.closed();
  });

  await t.test('a length prefix of 2^32-1: FRAME_TOO_LARGE from the header alone, then close', async () => {
    const peer = await rawConnect(paths.socketPath);
    await peer.hello();
    peer.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const frame = await peer.next();
    const error = frame.error as { code: string; message: string };
    assert.equal(error.code, 'FRAME_TOO_LARGE');
    assert.match(error.message, /maxFrameBytes/);
    await peer.closed();
  });

  await t.test('a __proto__ key in a value: BAD_REQUEST for that request, connection kept', async () => {
    const peer = await rawConnect(paths.socketPath);
    await peer.hello();
    // Built by hand: msgpackr would never encode a __proto__ key from an object literal.
    const value = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa5]), Buffer.from('admin'), Buffer.from([0xc3])]);
    const head = encodeValue({ id: 7, op: 'set', path: 'p' });
    const request = Buffer.concat([Buffer.from([0x84]), head.subarray(1), Buffer.from([0xa5]), Buffer.from('value'), value]);
    peer.write(encodeFrame(request));
    const response = await peer.next();
    assert.equal(response.id, 7);
    assert.equal((response.error as { code: string }).code, 'BAD_REQUEST');
    assert.match((response.error as { message: string }).message, /__proto__/);
    peer.write(encodeMessage({ id: 8, op: 'get', path: 'kept' }));
    assert.equal((await peer.next()).value, 'yes');
    assert.equal(({} as Record<string, unknown>).admin, undefined);
    peer.destroy();
  });

  await t.test('an invalid request with an id: BAD_REQUEST naming the field, connection kept', async () => {
    const peer = await rawConnect(paths.socketPath);
    await peer.hello();
    peer.write(encodeMessage({ id: 3, op: 'set', path: 5 }));
    const response = await peer.next();
    assert.equal((response.error as { code: string }).code, 'BAD_REQUEST');
    assert.match((response.error as { message: string }).message, /path/);
    peer.write(encodeMessage({ id: 4, op: 'ping' }));
    assert.equal((await peer.next()).ok, true);
    peer.destroy();
  });

  await t.test('garbage bytes instead of msgpack: PROTOCOL, then close', async () => {
    const peer = await rawConnect(paths.socketPath);
    await peer.hello();
    peer.write(encodeFrame(Buffer.from([0xc1, 0xc1, 0xc1])));
    assert.equal(((await peer.next()).error as { code: string }).code, 'PROTOCOL');
    await peer.closed();
  });

  assert.equal(await good.get('kept'), 'yes');
  assert.equal((await good.health()).status, 'ok');
});
