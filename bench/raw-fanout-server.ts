// Baseline for the watch workload: a bare node:net server (raw-frame-server.ts)
// that fans one event out to every subscriber — no store, no durability, no
// watch bookkeeping. A connection that sends `{type: 'subscribe'}` receives
// every event; a `{id, op: 'publish', path, value}` is written to all
// subscribers as the sidecar's event frame (encoded once), then answered
// `{id, ok, revision}` — the sidecar's order: watchers first, then the
// writer's acknowledgement. Runs as its own process; SIGTERM stops it; it
// never outlives --max-lifetime-ms.
import type net from 'node:net';
import { parseArgs } from 'node:util';
import { encodeMessage } from '../protocol/index.js';
import { serveRawFrames } from './raw-frame-server.js';

const { values } = parseArgs({ options: { socket: { type: 'string' }, 'max-lifetime-ms': { type: 'string', default: '600000' } } });
const socketPath = values.socket;
if (socketPath === undefined) throw new Error('--socket is required');

const subscribers = new Set<net.Socket>();
let revision = 0;

await serveRawFrames(
  'raw-fanout',
  socketPath,
  Number(values['max-lifetime-ms']),
  (socket, message) => {
    if (message.type === 'subscribe') {
      subscribers.add(socket);
      socket.write(encodeMessage({ type: 'subscribed' }));
      return;
    }
    revision++;
    const event = encodeMessage({ type: 'event', watchId: 1, revision, source: 'client', changes: [{ path: message.path, value: message.value }] });
    for (const subscriber of subscribers) subscriber.write(event);
    socket.write(encodeMessage({ id: message.id, ok: true, revision }));
  },
  (socket) => subscribers.delete(socket),
);
