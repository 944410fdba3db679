// Baseline for the watch workload: a bare node:net server on a Unix socket
// that fans one event out to every subscriber, with the project's framing and
// codec and nothing else — no store, no durability, no watch bookkeeping.
// A connection that sends `{type: 'subscribe'}` receives every event; a
// `{id, op: 'publish', path, value}` is written to all subscribers as the
// sidecar's event frame (encoded once), then answered `{id, ok, revision}` —
// the sidecar's order: watchers first, then the writer's acknowledgement.
// Runs as its own process; SIGTERM stops it; it never outlives --max-lifetime-ms.
import net from 'node:net';
import { unlink } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, FrameDecoder, decodeValue, encodeMessage } from '../protocol/index.js';

const { values } = parseArgs({ options: { socket: { type: 'string' }, 'max-lifetime-ms': { type: 'string', default: '600000' } } });
const socketPath = values.socket;
if (socketPath === undefined) throw new Error('--socket is required');

const subscribers = new Set<net.Socket>();
let revision = 0;

const server = net.createServer((socket) => {
  const decoder = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => subscribers.delete(socket));
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
      if (message.type === 'subscribe') {
        subscribers.add(socket);
        socket.write(encodeMessage({ type: 'subscribed' }));
        continue;
      }
      revision++;
      const event = encodeMessage({ type: 'event', watchId: 1, revision, source: 'client', changes: [{ path: message.path, value: message.value }] });
      for (const subscriber of subscribers) subscriber.write(event);
      socket.write(encodeMessage({ id: message.id, ok: true, revision }));
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
server.listen(socketPath, () => process.stderr.write(`raw-fanout: listening on ${socketPath}\n`));
