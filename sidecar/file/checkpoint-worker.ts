// The checkpoint renderer's thread (checkpoint-renderer.ts): it keeps its own
// copy of the document, brought up to date by each commit's changes (never
// sent the whole document again), and renders the file text and its hash on
// request. Rendering a large document takes tens of milliseconds: here it
// never holds up a request. The copy is this thread's alone, so changes are
// made in place (no object on the path is copied: an object with thousands
// of keys costs no more to change than a small one); object texts are cached
// per object (json-text.ts) and a changed object's is dropped, so after a
// small change only the changed path is rendered again.
import { createHash } from 'node:crypto';
import { getPriority, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { JsonObject } from '../store/document.js';
import { withMeta } from './file-envelope.js';
import { applyChangeInPlace } from '../store/document-in-place.js';
import { documentText, forgetText } from '../store/json-text.js';
import type { FileMeta } from './file-envelope.js';
import type { RendererReply, RendererRequest } from './checkpoint-messages.js';

if (parentPort === null) throw new Error('checkpoint-worker.js runs as a worker thread');
/** How far below the sidecar's priority this thread runs; not idle-only: the file must still follow the commits under load. */
const NICER_BY = 10;
// Linux nice values are per thread: this lowers this thread alone, so rendering a large document yields the
// CPU to the event loop (elsewhere it would lower the whole process, so it is left alone). Lowering is always
// allowed; a sandbox that forbids setpriority leaves it at the sidecar's priority, as it was before.
if (process.platform === 'linux') {
  try {
    setPriority(Math.min(19, getPriority() + NICER_BY));
  } catch {
    // Renders at the sidecar's own priority: slower answers while a large file is rendered, nothing wrong.
  }
}
const port = parentPort;

let doc: JsonObject = {};
let revision = 0;
let meta: FileMeta | undefined;

port.on('message', (request: RendererRequest) => {
  switch (request.type) {
    case 'reset':
      doc = request.doc;
      revision = request.revision;
      meta = request.meta;
      return;
    case 'apply':
      // Held already: the thread was started from a document at or past this revision.
      if (request.revision <= revision) return;
      for (const change of request.changes) {
        // One message's values may share objects (a structured clone keeps shared references): changed in place
        // later, one would change the other too. Each object value gets its own copy then.
        const own = request.changes.length > 1 && typeof change.value === 'object' && change.value !== null ? { ...change, value: structuredClone(change.value) } : change;
        doc = applyChangeInPlace(doc, own, forgetText);
      }
      revision = request.revision;
      return;
    case 'render':
      render(request.id);
      return;
  }
});

function render(id: number): void {
  let reply: RendererReply;
  try {
    const text = documentText(doc).text;
    const bytes = new TextEncoder().encode(meta === undefined ? text : withMeta(text, meta));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    reply = { type: 'rendered', id, revision, bytes, sha256 };
  } catch (error) {
    port.postMessage({ type: 'failed', id, message: (error as Error).message } satisfies RendererReply);
    return;
  }
  // Transferred, not copied: `bytes` has a buffer of its own.
  port.postMessage(reply, [reply.bytes.buffer as ArrayBuffer]);
}

