// A raw socket to the sidecar for hostile-input tests: send any bytes, read
// back decoded frames, see when the sidecar closes the connection.
import net from 'node:net';
import { DEFAULT_LIMITS, FrameDecoder, decodeValue, encodeMessage, maxResponseFrameBytes } from '../../protocol/index.js';

export interface RawPeer {
  write(bytes: Buffer): void;
  hello(): Promise<Record<string, unknown>>;
  /** Next decoded frame from the sidecar, within the bound. */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the sidecar closes the connection, within the bound. */
  closed(timeoutMs?: number): Promise<void>;
  destroy(): void;
}

export async function rawConnect(socketPath: string): Promise<RawPeer> {
  const socket = net.connect(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const decoder = new FrameDecoder(maxResponseFrameBytes(DEFAULT_LIMITS));
  const frames: Record<string, unknown>[] = [];
  let waiter: (() => void) | undefined;
  let ended = false;
  socket.on('data', (data) => {
    for (const frame of decoder.push(data)) frames.push(decodeValue(frame, DEFAULT_LIMITS) as Record<string, unknown>);
    waiter?.();
  });
  socket.on('close', () => {
    ended = true;
    waiter?.();
  });
  socket.on('error', () => undefined); // the close event reports it
  const until = async (ready: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const peer: RawPeer = {
    write: (bytes) => socket.write(bytes),
    hello: async () => {
      socket.write(encodeMessage({ type: 'hello', protocol: 1, client: { name: 'raw', pid: process.pid } }));
      return peer.next();
    },
    next: async (timeoutMs = 5000) => {
      await until(() => frames.length > 0 || ended, timeoutMs, 'a frame');
      const frame = frames.shift();
      if (frame === undefined) throw new Error('connection closed before a frame arrived');
      return frame;
    },
    closed: (timeoutMs = 5000) => until(() => ended, timeoutMs, 'close'),
    destroy: () => socket.destroy(),
  };
  return peer;
}
