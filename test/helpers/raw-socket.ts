// A raw socket to the sidecar for hostile-input tests: send any bytes, read
// back decoded frames, see when the sidecar closes the connection.
import net from 'node:net';
import { DEFAULT_LIMITS, FrameDecoder, decodeValue, encodeMessage, maxResponseFrameBytes, type Limits } from '../../protocol/index.js';

export interface RawPeer {
  write(bytes: Buffer): void;
  hello(): Promise<Record<string, unknown>>;
  /** Sends one message and returns the next frame (for peers with nothing else pending). */
  request(message: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Next decoded frame from the sidecar, within the bound. */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the sidecar closes the connection, within the bound. */
  closed(timeoutMs?: number): Promise<void>;
  /** True once the connection has closed. */
  readonly isClosed: boolean;
  /** Sends FIN: no more bytes from this side (the socket may still read). */
  end(): void;
  /** Stops reading from the socket (a slow reader); `resume` reads again. */
  pause(): void;
  resume(): void;
  destroy(): void;
}

export interface RawConnectOptions {
  /** The sidecar's limits, to size the response decoder the way the client does from hello (default: DEFAULT_LIMITS). */
  limits?: Limits;
  /** Keep this side open after the sidecar's FIN, as a peer that never closes would (default: close, as net does). */
  allowHalfOpen?: boolean;
}

/** Responses carry whole documents: only the frame size bounds them, as in client/connection.ts. */
const RESPONSE_DECODE_LIMITS = { maxDepth: 1024, maxArrayLength: 2 ** 32, maxStringBytes: 2 ** 32 };

export async function rawConnect(socketPath: string, options: RawConnectOptions = {}): Promise<RawPeer> {
  const socket = net.connect({ path: socketPath, allowHalfOpen: options.allowHalfOpen ?? false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const decoder = new FrameDecoder(maxResponseFrameBytes(options.limits ?? DEFAULT_LIMITS));
  const frames: Record<string, unknown>[] = [];
  // Everyone waiting for a frame or the close; several next() calls may wait at once.
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  let ended = false;
  // A frame the sidecar should never send: reported by the next call to next(), not thrown from an event handler.
  let badFrame: Error | undefined;
  socket.on('data', (data) => {
    try {
      for (const frame of decoder.push(data)) frames.push(decodeValue(frame, RESPONSE_DECODE_LIMITS) as Record<string, unknown>);
    } catch (error) {
      badFrame = new Error(`the sidecar sent a bad frame: ${(error as Error).message}`);
      socket.destroy();
    }
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });
  socket.on('error', () => undefined); // the close event reports it
  const until = async (ready: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        waiters.add(done);
      });
    }
  };
  const peer: RawPeer = {
    write: (bytes) => socket.write(bytes),
    hello: async () => {
      socket.write(encodeMessage({ type: 'hello', protocol: 1, client: { name: 'raw', pid: process.pid } }));
      return peer.next();
    },
    request: async (message, timeoutMs) => {
      socket.write(encodeMessage(message));
      return peer.next(timeoutMs);
    },
    next: async (timeoutMs = 5000) => {
      // Taken in the readiness check itself, so two waiters woken by one frame never both claim it.
      let frame: Record<string, unknown> | undefined;
      await until(() => (frame ??= frames.shift()) !== undefined || ended, timeoutMs, 'a frame');
      if (frame === undefined) throw badFrame ?? new Error('connection closed before a frame arrived');
      return frame;
    },
    closed: (timeoutMs = 5000) => until(() => ended, timeoutMs, 'close'),
    get isClosed() {
      return ended;
    },
    end: () => socket.end(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    destroy: () => socket.destroy(),
  };
  return peer;
}
