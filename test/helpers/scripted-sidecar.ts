// A fake sidecar on a real Unix socket, scripted by a test: it greets like a
// sidecar, records every request, and answers through `answer` (a normal
// sidecar's answers by default); a test can also send anything, malformed
// frames included, hold replies back, or cut a connection mid-frame.
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { DEFAULT_LIMITS, FrameDecoder, PROTOCOL_VERSION, decodeValue, encodeMessage } from '../../protocol/index.js';

export interface ScriptedConnection {
  /** Requests received on this connection, in order. */
  requests: Record<string, unknown>[];
  send(message: unknown): void;
  sendBytes(bytes: Buffer): void;
  destroy(): void;
  closed: Promise<void>;
}

/** What to do with a request: a message to answer with, or 'hold' to answer never. */
export type Answer = (request: Record<string, unknown>, connection: ScriptedConnection) => unknown;

export const EPOCH = 'feedfacefeedface';

/** A sidecar's usual answer: a position, plus what each op carries. */
export const usualAnswer: Answer = (request) => {
  const base = { id: request.id, ok: true, epoch: EPOCH, revision: 1 };
  switch (request.op) {
    case 'get':
      return { ...base, value: 'v', modRevision: 1 };
    case 'set':
    case 'delete':
      return { ...base, revision: 2, results: [{ modRevision: 2, existed: true }] };
    case 'watch':
      return { ...base, watchId: 1, snapshot: { value: 'v', exists: true } };
    default:
      return base;
  }
};

export class ScriptedSidecar {
  answer: Answer = usualAnswer;
  hello: Record<string, unknown> = {};
  readonly connections: ScriptedConnection[] = [];
  private waiters: ((connection: ScriptedConnection) => void)[] = [];

  private constructor(private readonly server: net.Server) {}

  static async start(t: TestContext, socketPath: string): Promise<ScriptedSidecar> {
    await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    let fake: ScriptedSidecar | undefined;
    const server = net.createServer((socket) => fake!.accept(socket));
    fake = new ScriptedSidecar(server);
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    t.after(() => fake.stop());
    return fake;
  }

  /** The n-th greeted connection (1-based), waited for with a bound. */
  async connection(n: number, timeoutMs = 10_000): Promise<ScriptedConnection> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`connection ${n} did not come within ${timeoutMs} ms (${this.connections.length} so far)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.connections[n - 1]!;
  }

  /** The next request with this op on `connection`, waited for with a bound. */
  async request(connection: ScriptedConnection, op: string, nth = 1, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = connection.requests.filter((request) => request.op === op)[nth - 1];
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no ${op} request #${nth} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  stop(): Promise<void> {
    for (const connection of this.connections) connection.destroy();
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const decoder = new FrameDecoder(DEFAULT_LIMITS.maxFrameBytes);
    let greeted = false;
    let markClosed!: () => void;
    const connection: ScriptedConnection = {
      requests: [],
      send: (message) => socket.write(encodeMessage(message)),
      sendBytes: (bytes) => socket.write(bytes),
      destroy: () => socket.destroy(),
      closed: new Promise((resolve) => (markClosed = resolve)),
    };
    socket.on('close', () => markClosed());
    socket.on('error', () => socket.destroy());
    socket.on('data', (data) => {
      for (const frame of decoder.push(data)) {
        const message = decodeValue(frame, DEFAULT_LIMITS) as Record<string, unknown>;
        if (!greeted) {
          greeted = true;
          connection.send({ type: 'hello', protocol: PROTOCOL_VERSION, server: { version: '0.0.0', pid: process.pid }, epoch: EPOCH, revision: 1, limits: DEFAULT_LIMITS, ...this.hello });
          this.connections.push(connection);
          for (const wake of this.waiters.splice(0)) wake(connection);
          continue;
        }
        connection.requests.push(message);
        const reply = this.answer(message, connection);
        if (reply !== 'hold' && reply !== undefined) connection.send(reply);
      }
    });
  }
}
