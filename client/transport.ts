// The client's socket layer: one `node:net` connection per dial to the
// sidecar's Unix socket or named pipe, no reconnect of its own (reconnect.ts
// owns that policy). All socket code of the client stays in this file; the
// sidecar's side is node-ipc in its raw profile, which carries our frames as
// plain bytes, so a plain socket speaks to it (docs/decisions.md, "Client").
import { createConnection } from 'node:net';

export interface LinkHandlers {
  onOpen(): void;
  onData(data: Buffer): void;
  /** Called once, when the link is gone (never opened, or closed); `error` when it failed. */
  onClose(error?: Error): void;
}

/** One connection attempt and, if it opens, the connection. */
export interface Link {
  send(frame: Buffer): void;
  /** Bytes queued in the socket, for back-pressure decisions. */
  readonly writableLength: number;
  close(): void;
}

/**
 * The path to connect to: on Windows a path that is not already a pipe name becomes one the way
 * node-ipc names the sidecar's pipe (`\\.\pipe\` and the path with slashes as dashes).
 */
export function connectPath(socketPath: string, platform: NodeJS.Platform = process.platform): string {
  if (platform !== 'win32' || socketPath.startsWith('\\\\.\\pipe\\')) return socketPath;
  return `\\\\.\\pipe\\${socketPath.replace(/^\//, '').replace(/\//g, '-')}`;
}

export function dial(socketPath: string, handlers: LinkHandlers): Link {
  const socket = createConnection({ path: connectPath(socketPath) });
  let closed = false;
  let lastError: Error | undefined;
  const finish = () => {
    if (closed) return;
    closed = true;
    handlers.onClose(lastError);
  };
  socket.once('connect', () => {
    if (!closed) handlers.onOpen();
  });
  socket.on('data', (data: Buffer) => {
    if (!closed) handlers.onData(data);
  });
  // 'close' follows every 'error': the error is kept and reported there, once.
  socket.on('error', (error) => {
    lastError = error;
  });
  socket.once('close', finish);
  return {
    send: (frame) => {
      if (closed || socket.destroyed) return;
      // Requests made in one turn of the event loop leave in one syscall.
      if (socket.writableCorked === 0) {
        socket.cork();
        process.nextTick(() => socket.uncork());
      }
      socket.write(frame);
    },
    get writableLength() {
      return socket.writableLength;
    },
    close: () => {
      socket.destroy();
      finish();
    },
  };
}
