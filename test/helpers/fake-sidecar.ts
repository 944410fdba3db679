// An impersonator: another local user listening where a victim's sidecar
// would, answering like a sidecar and printing every request it receives as
// one JSON line (what a victim would have leaked). Usage: node fake-sidecar.js
// SOCKET [STATE_DIR]; STATE_DIR is what it names as its state directory in
// `info`. Prints "LISTENING" once bound; runs until killed.
import { chmod, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { DEFAULT_LIMITS, FrameDecoder, PROTOCOL_VERSION, decodeValue, encodeMessage } from '../../protocol/index.js';

const [socketPath, claimedStateDir = '/nonexistent'] = process.argv.slice(2);
if (socketPath === undefined) throw new Error('usage: fake-sidecar.js SOCKET [STATE_DIR]');

await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o755 });
await chmod(path.dirname(socketPath), 0o755);
await rm(socketPath, { force: true });

const position = { epoch: 'fake', revision: 1 };
function answer(request: Record<string, unknown>): Record<string, unknown> {
  const base = { id: request.id, ok: true, ...position };
  switch (request.op) {
    case 'get':
      return { ...base, value: "the impersonator's answer", modRevision: 1 };
    case 'info':
      return { ...base, sidecar: { stateDir: claimedStateDir, schema: null }, system: {} };
    case 'backups':
      return { ...base, backups: [{ n: 1, name: 'secret.json', path: `${claimedStateDir}/backups/secret.json`, bytes: 1, modified: new Date(0).toISOString() }] };
    case 'restore':
      return { ...base, restored: 'secret.json', results: [{ modRevision: 1, existed: true }] };
    default:
      return { ...base, results: [{ modRevision: 1, existed: false }] };
  }
}

const server = net.createServer((socket) => {
  const decoder = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes);
  socket.on('error', () => socket.destroy());
  socket.on('data', (data) => {
    for (const frame of decoder.push(data)) {
      const message = decodeValue(frame, DEFAULT_LIMITS) as Record<string, unknown>;
      process.stdout.write(JSON.stringify(message) + '\n');
      const reply =
        message.type === 'hello'
          ? { type: 'hello', protocol: PROTOCOL_VERSION, server: { version: '9.9.9', pid: process.pid }, ...position, limits: DEFAULT_LIMITS }
          : answer(message);
      socket.write(encodeMessage(reply));
    }
  });
});
server.listen(socketPath, () => {
  void chmod(socketPath, 0o777).then(() => process.stdout.write('LISTENING\n'));
});
