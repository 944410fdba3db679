// The sidecar's socket layer: node-ipc in its raw profile, used only to name
// and bind the Unix socket / named pipe. node-ipc's own socket-directory
// handling (which creates the directory and chmods an existing one to 0700)
// and its unlink-at-bind are switched off: the directory is checked by
// private-directory.ts, never changed, and the path is claimed through
// socket-claim.ts. Framing, limits and validation are ours. All node-ipc use
// on the sidecar side stays in this file.
import { chmod, chown, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Socket } from 'node:net';
import { IPCModule } from 'node-ipc';
import { checkSocketPathLength } from '../../protocol/index.js';
import { preparePrivateDirectory } from '../ownership/private-directory.js';
import { installSocket, removeOwnSocket, temporarySocketPath, underBindLock } from './socket-claim.js';

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

/** Who may connect: the socket file's mode and group (Unix; named pipes keep their default ACL). */
export interface SocketAccess {
  /** Permission bits of the socket file (default 0600: its owner only). */
  mode: number;
  /** Group of the socket file (numeric gid), for a mode that lets a group in. */
  gid?: number;
}

export interface Listener {
  readonly socketPath: string;
  /** Stops accepting new connections; existing ones stay open. */
  stopAccepting(): void;
  /** Closes every connection and removes the socket file (only if it is still the one this listener bound). */
  close(): Promise<void>;
}

/**
 * Binds `socketPath`: checks the path's length and its directory (created 0700 when missing, else
 * ours and not writable by others), binds under a temporary name with the access asked for, then
 * moves it into place under the bind lock. `accept` is called for every new connection.
 */
export async function listen(
  socketPath: string,
  access: SocketAccess,
  accept: (connection: Connection) => ConnectionHandlers,
  onError: (error: Error) => void,
): Promise<Listener> {
  if (process.platform === 'win32') return bind(socketPath, socketPath, accept, onError, async () => undefined);
  await checkSocketPlace(socketPath);
  const boundPath = temporarySocketPath(socketPath);
  let ino: number | undefined;
  const listener = await bind(socketPath, boundPath, accept, onError, async () => {
    if (ino !== undefined) await removeOwnSocket(socketPath, ino);
  });
  try {
    // Access is set before the socket appears under its name: never a moment with the wrong mode.
    await chmod(boundPath, access.mode);
    if (access.gid !== undefined) {
      await chown(boundPath, -1, access.gid).catch((error: unknown) => {
        throw new Error(`cannot give the socket ${socketPath} group ${access.gid}: ${(error as Error).message} (the sidecar's user must be a member of that group)`);
      });
    }
    ino = await underBindLock(socketPath, () => installSocket(boundPath, socketPath, probe));
  } catch (error) {
    await listener.close();
    // Closing the server removes the temporary name already; anything else left there is reported.
    await unlink(boundPath).catch((unlinkError: unknown) => {
      if ((unlinkError as { code?: string }).code !== 'ENOENT') throw unlinkError;
    });
    throw error;
  }
  return listener;
}

/** Checks a socket path before anything else is done: its length, and its directory (created 0700 if missing). */
export async function checkSocketPlace(socketPath: string): Promise<void> {
  if (process.platform === 'win32') return;
  checkSocketPathLength(socketPath);
  await preparePrivateDirectory(path.dirname(socketPath), 'socket directory');
}

/** Starts node-ipc's server on `boundPath`; `removeSocket` runs once it has closed. */
function bind(
  socketPath: string,
  boundPath: string,
  accept: (connection: Connection) => ConnectionHandlers,
  onError: (error: Error) => void,
  removeSocket: () => Promise<unknown>,
): Promise<Listener> {
  const ipc = new IPCModule();
  ipc.config.rawBuffer = true;
  ipc.config.silent = true;
  // Never unlink at bind: a path is replaced only by socket-claim.ts, once nobody answers there.
  ipc.config.unlink = false;
  // node-ipc prepares (mkdir, chmod 0700) its socketRoot only when the socket lies inside it: a root
  // below the socket itself never contains it, so node-ipc leaves every directory alone.
  ipc.config.socketRoot = path.join(boundPath, 'unused') + path.sep;
  ipc.config.secureSocketRoot = false;
  // No cap in net itself: a connection it turned away would be closed without a word. Every connection past
  // our own limit is accepted and refused with a clear error by the session layer, then closed (see end()).
  ipc.config.maxConnections = Infinity;

  const handlers = new WeakMap<Socket, ConnectionHandlers>();
  // node-ipc prefixes \\.\pipe\ to every Windows server path itself (its client only when missing).
  const servePath = process.platform === 'win32' ? boundPath.replace(/^\\\\\.\\pipe\\/, '') : boundPath;
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
      let removed: Promise<unknown> | undefined;
      resolve({
        socketPath,
        stopAccepting: () => {
          if (netServer.listening) netServer.close();
        },
        close: async () => {
          if (netServer.listening) netServer.close();
          ipc.server.stop();
          await closed;
          removed ??= removeSocket();
          await removed;
        },
      });
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
