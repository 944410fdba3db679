// The client's socket layer: node-ipc in its raw profile, one connection per
// dial, node-ipc's own reconnect switched off (reconnect.ts owns that policy).
// All node-ipc use on the client side stays in this file.
import { IPCModule } from 'node-ipc';

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

let dials = 0;

export function dial(socketPath: string, handlers: LinkHandlers): Link {
  const ipc = new IPCModule();
  ipc.config.rawBuffer = true;
  ipc.config.silent = true;
  ipc.config.stopRetrying = true;
  ipc.config.maxRetries = 0;
  const id = `sidecar-${++dials}`;
  let closed = false;
  let lastError: Error | undefined;
  const finish = () => {
    if (closed) return;
    closed = true;
    handlers.onClose(lastError);
  };
  ipc.connectTo(id, socketPath);
  const client = ipc.of[id]!;
  client.on('connect', () => handlers.onOpen());
  client.on('data', (data) => {
    if (!closed) handlers.onData(data);
  });
  client.on('error', (error) => {
    lastError = error;
  });
  client.on('disconnect', finish);
  client.on('destroy', finish);
  return {
    send: (frame) => {
      if (closed) return;
      // Requests made in one turn of the event loop leave in one syscall.
      const socket = client.socket;
      if (socket !== false && socket.writableCorked === 0) {
        socket.cork();
        process.nextTick(() => socket.uncork());
      }
      client.emit(frame);
    },
    get writableLength() {
      return client.socket === false ? 0 : client.socket.writableLength;
    },
    close: () => {
      ipc.disconnect(id);
      finish();
    },
  };
}
