// The least a Node process can do to answer `config-sidecar get PATH`: connect
// with node:net, say hello, send one get, print the value, all in this one file
// with the client's msgpack codec (protocol/plain-msgpack.ts, the lightest
// there is) and inline framing (4-byte length prefix), no client library, no
// checking of the answers' shape. cli-startup.ts runs it as the floor of the
// CLI's `get`. Usage: node dist/bench/minimal-get.js SOCKET PATH
import { createConnection } from 'node:net';
import { decodeValue, encodeMessage } from '../protocol/plain-msgpack.js';

const [socketPath, path] = process.argv.slice(2);
if (socketPath === undefined || path === undefined) throw new Error('usage: minimal-get.js SOCKET PATH');
const limits = { maxDepth: 100, maxArrayLength: 2 ** 32, maxStringBytes: 2 ** 32 };

const socket = createConnection({ path: socketPath });
let buffered = Buffer.alloc(0);
socket.on('connect', () => socket.write(encodeMessage({ type: 'hello', protocol: 1, client: { name: 'minimal-get', pid: process.pid } })));
socket.on('data', (data: Buffer) => {
  buffered = Buffer.concat([buffered, data]);
  while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
    const message = decodeValue(buffered.subarray(4, 4 + buffered.readUInt32BE(0)), limits, { exact: false }) as { type?: string; id?: number; ok?: boolean; value?: unknown; error?: unknown };
    buffered = buffered.subarray(4 + buffered.readUInt32BE(0));
    if (message.type === 'hello') {
      socket.write(encodeMessage({ id: 1, op: 'get', path }));
    } else if (message.id === 1) {
      if (message.ok !== true) throw new Error(`get failed: ${JSON.stringify(message.error)}`);
      process.stdout.write(JSON.stringify(message.value) + '\n');
      socket.end();
    }
  }
});
socket.on('error', (error) => {
  throw error;
});
