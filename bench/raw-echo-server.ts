// Baseline for the get and durable-set workloads: a bare node:net server
// (raw-frame-server.ts) that answers every request with a response of the
// same shape as the sidecar's `get` (or, for a `set`, its write result) — the
// transport's limit, with no sidecar logic and no storage. Runs as its own
// process; SIGTERM stops it; it never outlives --max-lifetime-ms.
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS, encodeMessage } from '../protocol/index.js';
import { serveRawFrames } from './raw-frame-server.js';

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

await serveRawFrames('raw-echo', socketPath, Number(values['max-lifetime-ms']), (socket, message) => {
  if (message.type === 'hello') {
    socket.write(encodeMessage({ type: 'hello', protocol: 1, server: { version: 'raw', pid: process.pid }, epoch, revision: 1, limits: DEFAULT_LIMITS }));
    return;
  }
  // Shaped as the sidecar answers each op (the client checks every answer): a set's results, a get's value, else the position alone (ping).
  const answer = message.op === 'set' ? { results: [{ modRevision: 1, existed: false }] } : message.op === 'get' ? { value, modRevision: 1 } : {};
  socket.write(encodeMessage({ epoch, revision: 1, ...answer, id: message.id, ok: true }));
});
