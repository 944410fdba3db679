// The thinnest possible client of the wire protocol: node:net plus the
// project's own framing code (encodeMessage / FrameDecoder / decodeValue), no
// call table, no timers, no reconnect. It talks to the raw echo baseline and
// to the sidecar alike, so comparing the two isolates the sidecar's own work.
import net from 'node:net';
import { DEFAULT_LIMITS, FrameDecoder, PROTOCOL_VERSION, decodeValue, encodeMessage, maxResponseFrameBytes } from '../protocol/index.js';

type Message = Record<string, unknown>;

export class FramedClient {
  private readonly decoder = new FrameDecoder(maxResponseFrameBytes(DEFAULT_LIMITS));
  private readonly pending = new Map<number, { resolve(message: Message): void; reject(error: Error): void }>();
  private nextId = 1;
  private onHello: ((message: Message) => void) | undefined;
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (data) => this.onData(data));
    socket.on('error', (error) => this.failAll(error));
    socket.on('close', () => this.failAll(new Error('connection closed')));
  }

  /** Connects and completes the hello handshake. */
  static async connect(socketPath: string): Promise<FramedClient> {
    const socket = net.createConnection(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new FramedClient(socket);
    const hello = new Promise<Message>((resolve) => (client.onHello = resolve));
    socket.write(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, client: { name: 'bench-framed', pid: process.pid } }));
    const answer = await hello;
    if (answer.type !== 'hello') throw new Error(`no hello from ${socketPath}: ${JSON.stringify(answer)}`);
    return client;
  }

  /** Sends one request and resolves with its response (rejects when ok is false). */
  request(message: Message): Promise<Message> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<Message>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(encodeMessage({ id, ...message }));
    });
  }

  close(): void {
    this.socket.end();
  }

  private onData(data: Buffer): void {
    for (const frame of this.decoder.push(data)) {
      const message = decodeValue(frame, DEFAULT_LIMITS) as Message;
      if (this.onHello !== undefined) {
        const onHello = this.onHello;
        this.onHello = undefined;
        onHello(message);
        continue;
      }
      const call = this.pending.get(message.id as number);
      if (call === undefined) continue;
      this.pending.delete(message.id as number);
      if (message.ok === true) call.resolve(message);
      else call.reject(new Error(`request failed: ${JSON.stringify(message.error ?? message)}`));
    }
  }

  private failAll(error: Error): void {
    this.failure ??= error;
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }
}
