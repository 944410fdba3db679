// Baseline for the get and durable-set workloads: a bare node:net server on a
// Unix socket that splits length-prefixed msgpack frames, decodes each (with
// the project's codec, the same checks the sidecar runs), and answers with a
// response of the same shape as the sidecar's `get` (or, for a `set`, its
// write result) — the transport's limit, with no sidecar logic and no storage. Runs as its own process; SIGTERM stops it; it never outlives
// --max-lifetime-ms.
import net from 'node:net';
import { unlink } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, FrameDecoder, decodeValue, encodeMessage } from '../protocol/index.js';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    value: { type: 'string', default: '"value"' },
    'max-lifetime-ms': { type: 'string', default: '600000' },
  },
});
const socketPath = values.socket;
if (socketPath === undefined) throw new Error('--socket is required');
const value: unknown = JSON.parse(values.value!);
const epoch = '0123456789abcdef';

const server = net.createServer((socket) => {
  const decoder = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes);
  socket.on('error', () => socket.destroy());
  socket.on('data', (data) => {
    let frames: Buffer[];
    try {
      frames = decoder.push(data);
    } catch {
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      const message = decodeValue(frame, DEFAULT_LIMITS) as Record<string, unknown>;
      if (message.type === 'hello') {
        socket.write(encodeMessage({ type: 'hello', protocol: 1, server: { version: 'raw', pid: process.pid }, epoch, revision: 1, limits: DEFAULT_LIMITS }));
        continue;
      }
      const answer = message.op === 'set' ? { results: [{ modRevision: 1, existed: false }] } : { value, modRevision: 1 };
      socket.write(encodeMessage({ epoch, revision: 1, ...answer, id: message.id, ok: true }));
    }
  });
});

const stop = () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
setTimeout(stop, Number(values['max-lifetime-ms'])).unref();

await unlink(socketPath).catch(() => undefined);
server.listen(socketPath, () => process.stderr.write(`raw-echo: listening on ${socketPath}\n`));
