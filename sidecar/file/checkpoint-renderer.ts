// The file text of the latest commit and its hash, for the checkpoint writer.
// A document whose text is under INLINE_BELOW_BYTES is rendered on the event
// loop (tens of microseconds, cheaper than a trip to a thread) from the
// committed document; a larger one in the renderer thread
// (checkpoint-worker.ts), which is started the first time a document reaches
// that size, given the whole document once, and then fed each commit's
// changes. If the thread fails it is replaced, given the whole document once
// more. A render on the event loop keeps the document it rendered (a merge
// base: written-versions.ts), so its source gives one nobody changes in place
// (the store's snapshot: commit-queue.ts).
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { JsonObject } from '../store/document.js';
import { documentBytes, documentText } from '../store/json-text.js';
import { withMeta, type FileMeta } from './file-envelope.js';
import type { Change } from '../store/store-state.js';
import type { RendererReply, RendererRequest } from './checkpoint-messages.js';

/** The file text for the document at `revision`, and its SHA-256; the document itself when it was rendered on the event loop. */
export interface Rendered {
  revision: number;
  doc?: JsonObject;
  bytes: Buffer;
  sha256: string;
}

/** The committed document, to keep, and its revision. */
export type CommittedSource = () => { doc: JsonObject; revision: number };

interface Waiting {
  resolve(rendered: Rendered): void;
  reject(error: Error): void;
}

const WORKER_URL = new URL('./checkpoint-worker.js', import.meta.url);

/** Documents whose text is smaller than this are rendered on the event loop. */
const INLINE_BELOW_BYTES = 256 * 1024;

export class CheckpointRenderer {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** Where a render on the event loop and a new thread start from: the document given at start until `source` is set. */
  private committedNow: CommittedSource;
  private closed = false;
  /** Size of the last text rendered: past INLINE_BELOW_BYTES, rendering moves to the thread (and stays there). */
  private lastBytes: number;

  constructor(
    doc: JsonObject,
    revision: number,
    private readonly meta: FileMeta | undefined,
  ) {
    this.committedNow = () => ({ doc, revision });
    this.lastBytes = documentBytes(doc);
    // A large document's thread is started now, not at the first commit: it takes tens of milliseconds to
    // start, and the file must follow the first write as closely as any other.
    if (this.lastBytes >= INLINE_BELOW_BYTES) this.ensureWorker();
  }

  /** The committed document from now on (the store's, once it serves). */
  set source(source: CommittedSource) {
    this.committedNow = source;
  }

  /** A commit became durable (the source holds it now). */
  apply(revision: number, changes: Change[]): void {
    // Not started yet: the thread starts from the committed document anyway.
    if (this.worker !== undefined) this.post({ type: 'apply', revision, changes });
  }

  /** The text of the latest document applied. */
  render(): Promise<Rendered> {
    if (this.closed) return Promise.reject(new Error('the checkpoint renderer is closed'));
    if (this.worker === undefined && this.lastBytes < INLINE_BELOW_BYTES) return Promise.resolve(this.renderHere());
    const id = this.nextId++;
    return new Promise<Rendered>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.post({ type: 'render', id });
    });
  }

  /** The committed document's text, rendered on the event loop; a text past the bound sends the next renders to the thread. */
  private renderHere(): Rendered {
    const { doc, revision } = this.committedNow();
    const text = documentText(doc).text;
    const bytes = Buffer.from(this.meta === undefined ? text : withMeta(text, this.meta));
    this.lastBytes = bytes.length;
    if (this.lastBytes >= INLINE_BELOW_BYTES) this.ensureWorker();
    return { revision, doc, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the checkpoint renderer is closed'));
    await worker?.terminate();
  }

  private post(request: RendererRequest): void {
    this.ensureWorker().postMessage(request);
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(WORKER_URL);
    worker.on('message', (reply: RendererReply) => this.onReply(reply));
    worker.on('error', (error) => this.replace(worker, error));
    worker.on('exit', (code) => this.replace(worker, new Error(`the checkpoint renderer thread exited with code ${code}`)));
    // The sidecar's sockets keep the process alive, not this thread (after the listeners: adding one refs it again).
    worker.unref();
    // Changes of revisions the thread starts with are skipped by it.
    const { doc, revision } = this.committedNow();
    const reset: RendererRequest = { type: 'reset', doc, revision, meta: this.meta };
    worker.postMessage(reset);
    this.worker = worker;
    return worker;
  }

  /** The thread failed: what it was asked fails, and the next request starts a new one from the latest document. */
  private replace(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of waiting) waiter.reject(error);
  }

  private onReply(reply: RendererReply): void {
    const waiter = this.waiting.get(reply.id);
    if (waiter === undefined) return;
    this.waiting.delete(reply.id);
    if (reply.type === 'failed') waiter.reject(new Error(`rendering the config file failed: ${reply.message}`));
    else waiter.resolve({ revision: reply.revision, bytes: Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength), sha256: reply.sha256 });
  }
}
