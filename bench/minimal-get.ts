// The least a Node process can do to answer `config-sidecar get PATH`: connect
// with node:net, say hello, send one get, print the value, all in this one file
// with msgpackr's plain build and inline framing (4-byte length prefix), no
// client library, no answer checking. cli-startup.ts runs it as the floor of
// the CLI's `get`. Usage: node dist/bench/minimal-get.js SOCKET PATH
import { createConnection } from 'node:net';
import { Packr } from 'msgpackr/pack';
import { Unpackr } from 'msgpackr/unpack';

const [socketPath, path] = process.argv.slice(2);
if (socketPath === undefined || path === undefined) throw new Error('usage: minimal-get.js SOCKET PATH');
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const frame = (message: unknown) => {
  const payload = packr.pack(message);
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
};

const socket = createConnection({ path: socketPath });
let buffered = Buffer.alloc(0);
socket.on('connect', () => socket.write(frame({ type: 'hello', protocol: 1, client: { name: 'minimal-get', pid: process.pid } })));
socket.on('data', (data: Buffer) => {
  buffered = Buffer.concat([buffered, data]);
  while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
    const message = unpackr.unpack(buffered.subarray(4, 4 + buffered.readUInt32BE(0))) as { type?: string; id?: number; ok?: boolean; value?: unknown; error?: unknown };
    buffered = buffered.subarray(4 + buffered.readUInt32BE(0));
    if (message.type === 'hello') {
      socket.write(frame({ id: 1, op: 'get', path }));
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
