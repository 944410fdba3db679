// Copy-on-write edits of the JSON document: an edit copies only the objects on
// the path it changes and shares everything else, so the committed document
// and the working copy can differ by one write without either being cloned.
// An object a tree made itself since anyone last took hold of it
// (OwnedCopies) is edited in place instead: a run of writes into an object
// with thousands of keys copies it once, not once per write.
// The protocol's leaf modules, not its index: the checkpoint renderer thread loads this file and must start fast (no zod).
import { ErrorCode, ProtocolError } from '../../protocol/errors.js';
import { arrayIndex, childOf, FORBIDDEN_SEGMENTS, formatPath, isPlainObject, parsePath } from '../../protocol/paths.js';
import type { WriteOp } from '../../protocol/messages.js';
import { countCopied, keyAdded, keyRemoved } from './container-size.js';
import { forgetText } from './json-text.js';

export type JsonObject = Record<string, unknown>;

/**
 * The plain objects setIn copied for one tree (the working copy, or the
 * committed tree: commit-queue.ts), which nobody else holds yet: setIn may
 * change them in place. `release()` hands them all over (someone keeps the
 * tree, a merge reads it): from then on they are copied again. Objects below an array are never owned, so an array a change
 * reports whole never holds an object that changes later. Changes made in
 * place are logged until `settle()`, so `rollback()` can undo a write that is
 * refused after it was applied.
 */
export class OwnedCopies {
  private owned = new WeakSet<object>();
  private undo: (() => void)[] = [];

  has(object: object): boolean {
    return this.owned.has(object);
  }

  add(object: object): void {
    this.owned.add(object);
  }

  logUndo(step: () => void): void {
    this.undo.push(step);
  }

  /** Every object so far now belongs to whoever takes the document: none is changed in place again. */
  release(): void {
    this.owned = new WeakSet();
    this.undo = [];
  }

  /** The changes made in place since the last settle are final. */
  settle(): void {
    this.undo = [];
  }

  /** Undoes the changes made in place since the last settle (newest first). */
  rollback(): void {
    for (const step of this.undo.reverse()) step();
    this.undo = [];
  }
}

/** Returns a root with `value` at `segments`, creating missing intermediate objects; new unless the root is `owned`. */
export function setIn(root: JsonObject, segments: readonly string[], value: unknown, owned?: OwnedCopies): JsonObject {
  if (segments.length === 0) {
    if (!isPlainObject(value)) {
      throw new ProtocolError(ErrorCode.BAD_REQUEST, 'the whole document must be an object');
    }
    return value;
  }
  return setRec(root, segments, 0, value, owned) as JsonObject;
}

function setRec(node: unknown, segments: readonly string[], depth: number, value: unknown, owned: OwnedCopies | undefined): unknown {
  const segment = segments[depth]!;
  const last = depth === segments.length - 1;
  if (owned?.has(node as object) === true && !FORBIDDEN_SEGMENTS.has(segment)) return setInPlace(node as JsonObject, segments, depth, value, owned);
  if (Array.isArray(node)) {
    const index = arrayIndex(segment);
    const limit = last ? node.length : node.length - 1;
    if (index === undefined || index > limit) {
      throw new ProtocolError(
        ErrorCode.BAD_REQUEST,
        `cannot set ${formatPath(segments)}: "${segment}" is not an index in 0..${limit} of the array at ${formatPath(segments.slice(0, depth)) || '(root)'}`,
        { path: formatPath(segments) },
      );
    }
    const copy = node.slice();
    copy[index] = last ? value : setRec(node[index], segments, depth + 1, value, undefined);
    return copy;
  }
  if (isPlainObject(node)) {
    const had = Object.hasOwn(node, segment);
    const child = had ? node[segment] : undefined;
    const next = last ? value : setRec(child === undefined ? {} : child, segments, depth + 1, value, owned);
    const copy = { ...node, [segment]: next };
    countCopied(node, copy, !had);
    owned?.add(copy);
    return copy;
  }
  throw new ProtocolError(
    ErrorCode.BAD_REQUEST,
    `cannot set ${formatPath(segments)}: ${formatPath(segments.slice(0, depth)) || '(root)'} is ${describe(node)}, not an object or array`,
    { path: formatPath(segments) },
  );
}

/** `node` (owned) with `value` set below it in place; the change is logged for rollback. */
function setInPlace(node: JsonObject, segments: readonly string[], depth: number, value: unknown, owned: OwnedCopies): JsonObject {
  const segment = segments[depth]!;
  const had = Object.hasOwn(node, segment);
  const old = had ? node[segment] : undefined;
  // Deeper levels first: one that throws leaves this level untouched.
  const next = depth === segments.length - 1 ? value : setRec(old === undefined ? {} : old, segments, depth + 1, value, owned);
  node[segment] = next;
  forgetText(node);
  if (!had) keyAdded(node);
  owned.logUndo(() => {
    if (had) node[segment] = old;
    else {
      delete node[segment];
      keyRemoved(node);
    }
    forgetText(node);
  });
  return node;
}

/** Returns a new root without the value at `segments`, and whether it existed. */
export function deleteIn(root: JsonObject, segments: readonly string[]): { root: JsonObject; existed: boolean } {
  if (segments.length === 0) return { root: {}, existed: Object.keys(root).length > 0 };
  const parentPath = segments.slice(0, -1);
  let parent: unknown = root;
  for (const segment of parentPath) parent = childOf(parent, segment);
  const key = segments[segments.length - 1]!;
  if (childOf(parent, key) === undefined) return { root, existed: false };
  return { root: deleteRec(root, segments, 0) as JsonObject, existed: true };
}

function deleteRec(node: unknown, segments: readonly string[], depth: number): unknown {
  const segment = segments[depth]!;
  const last = depth === segments.length - 1;
  if (Array.isArray(node)) {
    const index = arrayIndex(segment)!;
    const copy = node.slice();
    if (last) copy.splice(index, 1);
    else copy[index] = deleteRec(node[index], segments, depth + 1);
    return copy;
  }
  const object = node as JsonObject;
  if (last) {
    const { [segment]: _removed, ...rest } = object;
    return rest;
  }
  return { ...object, [segment]: deleteRec(object[segment], segments, depth + 1) };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

/** `root` with `changes` (sets and deletes at segment paths) applied in order; objects `owned` holds are changed in place. */
export function applyChanges(root: JsonObject, changes: readonly { segments: readonly string[]; value?: unknown; deleted?: true }[], owned?: OwnedCopies): JsonObject {
  let out = root;
  for (const change of changes) out = change.deleted === true ? deleteIn(out, change.segments).root : setIn(out, change.segments, change.value, owned);
  owned?.settle();
  return out;
}

/** `root` with write ops applied in order (no preconditions: a merge's ops, computed on `root`). */
export function applyWriteOps(root: JsonObject, ops: readonly WriteOp[]): JsonObject {
  let out = root;
  for (const op of ops) out = op.op === 'set' ? setIn(out, parsePath(op.path), op.value) : deleteIn(out, parsePath(op.path)).root;
  return out;
}
