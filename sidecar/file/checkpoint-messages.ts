// The messages between the sidecar and its checkpoint renderer thread
// (checkpoint-renderer.ts ↔ checkpoint-worker.ts).
import type { JsonObject } from '../store/document.js';
import type { Change } from '../store/store-state.js';
import type { FileMeta } from './file-envelope.js';

export type RendererRequest =
  /** The whole document, once at start (and again only if the thread had to be replaced). */
  | { type: 'reset'; doc: JsonObject; revision: number; meta: FileMeta | undefined }
  /** One commit's changes, in commit order. */
  | { type: 'apply'; revision: number; changes: Change[] }
  | { type: 'render'; id: number };

export type RendererReply =
  | { type: 'rendered'; id: number; revision: number; bytes: Uint8Array; sha256: string }
  | { type: 'failed'; id: number; message: string };
