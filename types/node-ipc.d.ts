// Typings for the part of node-ipc 14 this project uses (the package ships none).
declare module 'node-ipc' {
  import type { Server as NetServer, Socket } from 'node:net';

  interface IpcConfig {
    rawBuffer: boolean;
    silent: boolean;
    unlink: boolean;
    socketRoot: string;
    /** When false, node-ipc still creates socketRoot but never checks or chmods it. */
    secureSocketRoot: boolean;
    maxConnections: number;
    stopRetrying: boolean;
    maxRetries: number;
    retry: number;
  }

  /** A node-ipc client connection (`ipc.of[id]`). */
  interface IpcClient {
    socket: Socket | false;
    on(event: 'connect' | 'disconnect' | 'destroy', handler: () => void): IpcClient;
    on(event: 'data', handler: (data: Buffer) => void): IpcClient;
    on(event: 'error', handler: (error: Error) => void): IpcClient;
    emit(data: Buffer): boolean;
  }

  /** The node-ipc socket server (`ipc.server`). */
  interface IpcServer {
    server: NetServer | false;
    start(): void;
    stop(): void;
    on(event: 'connect' | 'close', handler: (socket: Socket) => void): IpcServer;
    on(event: 'data', handler: (data: Buffer, socket: Socket) => void): IpcServer;
    on(event: 'error', handler: (error: Error) => void): IpcServer;
  }

  export class IPCModule {
    config: IpcConfig;
    of: Record<string, IpcClient>;
    server: IpcServer;
    serve(path: string, callback: () => void): void;
    connectTo(id: string, path: string, callback?: () => void): void;
    disconnect(id: string): void;
  }
}
