// The sidecar's socket layer: node-ipc in its raw profile, used only to name
// and bind the Unix socket / named pipe and to own the socket directory
// (created 0700, checked to be ours). Framing, limits and validation are ours.
// All node-ipc use on the sidecar side stays in this file.
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import type { Socket } from 'node:net';
import { IPCModule } from 'node-ipc';

/** How long a connection we ended may stay half-open before it is destroyed: long enough for a peer on a busy machine to read our last frame. */
const END_GRACE_MS = 5000;

/** One accepted connection, as the session layer sees it. */
export interface Connection {
  /** Queues bytes for the peer; `onFlushed` runs once they have left for the peer (not if the connection is gone). */
  write(data: Buffer, onFlushed?: () => void): void;
  /** Bytes queued but not yet taken by the peer. */
  readonly writableLength: number;
  /** Sends what is queued, then closes (at once if the peer closes too, else after a short grace). */
  end(): void;
  /** Closes at once, dropping queued bytes. */
  destroy(): void;
}

export interface ConnectionHandlers {
  onData(data: Buffer): void;
  onClose(): void;
}

export interface Listener {
  readonly socketPath: string;
  /** Stops accepting new connections; existing ones stay open. */
  stopAccepting(): void;
  /** Closes every connection and removes the socket file. */
  close(): Promise<void>;
}

/**
 * Binds `socketPath`. `accept` is called for every new connection and returns
 * its handlers. node-ipc unlinks a stale socket at bind time; callers hold the
 * ownership lock and have probed the socket first.
 */
export function listen(
  socketPath: string,
  accept: (connection: Connection) => ConnectionHandlers,
  onError: (error: Error) => void,
): Promise<Listener> {
  const ipc = new IPCModule();
  ipc.config.rawBuffer = true;
  ipc.config.silent = true;
  ipc.config.unlink = true;
  ipc.config.socketRoot = path.dirname(socketPath) + path.sep;
  // No cap in net itself: a connection it turned away would be closed without a word. Every connection past
  // our own limit is accepted and refused with a clear error by the session layer, then closed (see end()).
  ipc.config.maxConnections = Infinity;

  const handlers = new WeakMap<Socket, ConnectionHandlers>();
  // node-ipc prefixes \\.\pipe\ to every Windows server path itself (its client only when missing).
  const servePath = process.platform === 'win32' ? socketPath.replace(/^\\\\\.\\pipe\\/, '') : socketPath;
  return new Promise<Listener>((resolve, reject) => {
    let started = false;
    ipc.serve(servePath, () => {
      started = true;
      const netServer = ipc.server.server;
      if (netServer === false) {
        reject(new Error('node-ipc started without a server'));
        return;
      }
      const closed = new Promise<void>((done) => netServer.once('close', () => done()));
      const listener: Listener = {
        socketPath,
        stopAccepting: () => {
          if (netServer.listening) netServer.close();
        },
        close: async () => {
          if (netServer.listening) netServer.close();
          ipc.server.stop();
          await closed;
        },
      };
      // Owner-only, like its directory: other users can neither read nor write the config through it.
      const restrict = process.platform === 'win32' ? Promise.resolve() : chmod(socketPath, 0o600);
      restrict.then(
        () => resolve(listener),
        (error: unknown) => listener.close().then(() => reject(error as Error), reject),
      );
    });
    const server = ipc.server;
    server.on('connect', (socket: Socket) => {
      handlers.set(
        socket,
        accept({
          write: (data, onFlushed) => {
            if (socket.destroyed) return;
            // Everything written in one turn of the event loop (the answers of one flush) goes out in one syscall.
            if (socket.writableCorked === 0) {
              socket.cork();
              process.nextTick(() => socket.uncork());
            }
            // A failed write means the connection is going; its close event tells the session.
            socket.write(data, (error) => {
              if (error == null) onFlushed?.();
            });
          },
          get writableLength() {
            return socket.writableLength;
          },
          end: () => {
            socket.end();
            // A peer that never closes its side would keep the descriptor forever: our last frame gets a bounded time to leave.
            const timer = setTimeout(() => socket.destroy(), END_GRACE_MS);
            timer.unref();
            socket.once('close', () => clearTimeout(timer));
          },
          destroy: () => socket.destroy(),
        }),
      );
    });
    server.on('data', (data: Buffer, socket: Socket) => handlers.get(socket)?.onData(data));
    server.on('close', (socket: Socket) => {
      handlers.get(socket)?.onClose();
      handlers.delete(socket);
    });
    server.on('error', (error: Error) => {
      if (!started) reject(error);
      else onError(error);
    });
    try {
      server.start();
    } catch (error) {
      reject(error as Error);
    }
  });
}

/** True when something accepts connections on `socketPath` (a live sidecar). */
export function probe(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  const ipc = new IPCModule();
  ipc.config.rawBuffer = true;
  ipc.config.silent = true;
  ipc.config.stopRetrying = true;
  ipc.config.maxRetries = 0;
  return new Promise<boolean>((resolve) => {
    let settled = false;
    const finish = (answer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ipc.disconnect('probe');
      resolve(answer);
    };
    // A peer that neither accepts nor refuses within the bound is treated as alive: never steal a socket.
    const timer = setTimeout(() => finish(true), timeoutMs);
    ipc.connectTo('probe', socketPath, () => {
      const client = ipc.of.probe!;
      client.on('connect', () => finish(true));
      client.on('error', () => finish(false));
      client.on('disconnect', () => finish(false));
    });
  });
}
