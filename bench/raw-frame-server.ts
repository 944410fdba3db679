// What the bare baseline servers share: a node:net server on a Unix socket
// that splits length-prefixed msgpack frames and decodes each with the
// project's codec (the same checks the sidecar runs), handing every message
// to `onMessage`. It announces itself on stderr, stops on SIGTERM/SIGINT and
// never outlives `maxLifetimeMs`.
import net from 'node:net';
import { unlink } from 'node:fs/promises';
import { DEFAULT_LIMITS, FrameDecoder, decodeValue } from '../protocol/index.js';

export type RawMessageHandler = (socket: net.Socket, message: Record<string, unknown>) => void;

/** Listens on `socketPath`; resolves once listening. `name` prefixes the "listening" line the runner waits for. */
export async function serveRawFrames(name: string, socketPath: string, maxLifetimeMs: number, onMessage: RawMessageHandler, onClose?: (socket: net.Socket) => void): Promise<void> {
  const server = net.createServer((socket) => {
    const decoder = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes);
    socket.on('error', () => socket.destroy());
    if (onClose !== undefined) socket.on('close', () => onClose(socket));
    socket.on('data', (data) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(data);
      } catch {
        socket.destroy();
        return;
      }
      for (const frame of frames) onMessage(socket, decodeValue(frame, DEFAULT_LIMITS) as Record<string, unknown>);
    });
  });
  const stop = () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  setTimeout(stop, maxLifetimeMs).unref();
  await unlink(socketPath).catch(() => undefined);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  process.stderr.write(`${name}: listening on ${socketPath}\n`);
}
