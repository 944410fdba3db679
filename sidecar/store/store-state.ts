// One immutable version of the configuration: the document, its revision and
// the modRevision of every path. Applying writes returns a new version; the
// old one stays valid, which is how readers keep seeing committed state while
// a flush of newer writes is in progress.
import { ErrorCode, ProtocolError, formatPath, getAt, parsePath, type Guard, type WriteOp } from '../../protocol/index.js';
import { deleteIn, setIn, type JsonObject, type OwnedCopies } from './document.js';
import { probeSize, sizeDelta } from './document-size.js';
import { freshTree, modRevisionOf, recordDelete, recordSet, type RevisionNode } from './revision-tree.js';

export interface StoreState {
  /** The explicitly set values: what the file holds. */
  readonly doc: JsonObject;
  /** What readers see when a schema is in force: `doc` with its defaults applied (and its transforms). */
  readonly view?: JsonObject;
  readonly revision: number;
  readonly tree: RevisionNode;
  /** The layers below the file (fleet, system, locks) that `view` was merged from, when the sidecar serves any (sidecar/layers/). */
  readonly layers?: LowerLayers;
}

/** What the sidecar serves below the user file: the fleet and system documents and the locked paths. */
export interface LowerLayers {
  readonly fleet: JsonObject;
  readonly system: JsonObject;
  readonly locks: readonly (readonly string[])[];
}

/**
 * One change a revision made, as watchers see it: the value now at `segments`,
 * or its removal. A change inside an array is reported as the whole new array.
 */
export interface Change {
  segments: string[];
  value?: unknown;
  deleted?: true;
}

/** Per-op outcome of a write: the path's new modRevision and whether it existed before. */
export interface OpResult {
  modRevision: number;
  existed: boolean;
}

/** CONFLICT from an `ifModRevision` that did not hold; keeps the path and expectation for re-checking. */
export class PreconditionFailed extends ProtocolError {
  constructor(
    readonly segments: readonly string[],
    readonly expected: number,
    readonly actual: number,
  ) {
    super(ErrorCode.CONFLICT, `${formatPath(segments) || '(root)'} has modRevision ${actual}, not ${expected}; nothing was applied`, {
      path: formatPath(segments),
      expected,
      modRevision: actual,
    });
  }
}

/** Nesting depth of a JSON value: 0 for a scalar, 1 + the deepest child for an object or array. */
export function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return 1 + deepest;
}

/** The state of a freshly loaded document: everything in it dates from `revision`. */
export function initialState(doc: JsonObject, revision: number): StoreState {
  return { doc, revision, tree: freshTree(revision) };
}

/**
 * Value (from the view: defaults included) and modRevision (of the explicit
 * value: 0 for a default nobody set) at a path; undefined value when absent.
 */
export function readPath(state: StoreState, segments: readonly string[]): { value: unknown; modRevision: number } {
  return { value: getAt(state.view ?? state.doc, segments), modRevision: modRevisionOf(state.tree, state.doc, segments) };
}

/**
 * Applies `ops` as one new revision. All `ifModRevision` preconditions are
 * checked against `state` before anything is applied (etcd txn semantics):
 * on a mismatch, CONFLICT and nothing changes. With `owned`, objects the
 * working copy owns are changed in place (the caller rolls them back if the
 * write is refused; an op that throws here rolls back the ops before it).
 * `bytes` is how much the file's text grows.
 */
export function applyOps(
  state: StoreState,
  ops: readonly WriteOp[],
  guards: readonly Guard[] = [],
  owned?: OwnedCopies,
): { state: StoreState; results: OpResult[]; changes: Change[]; unchanged: boolean; bytes: number } {
  const parsed = ops.map((op) => ({ op, segments: parsePath(op.path) }));
  const conditions = [
    ...parsed.flatMap(({ op, segments }) => (op.ifModRevision === undefined ? [] : [{ segments, modRevision: op.ifModRevision }])),
    ...guards.map((guard) => ({ segments: parsePath(guard.path), modRevision: guard.modRevision })),
  ];
  for (const { segments, modRevision } of conditions) {
    const actual = modRevisionOf(state.tree, state.doc, segments);
    if (actual !== modRevision) throw new PreconditionFailed(segments, modRevision, actual);
  }
  const revision = state.revision + 1;
  let { doc, tree } = state;
  const results: OpResult[] = [];
  const changes: Change[] = [];
  let bytes = 0;
  try {
    for (const { op, segments } of parsed) {
      const current = getAt(doc, segments);
      const existed = current !== undefined;
      const parentPath = segments.slice(0, -1);
      if (op.op === 'set' && existed && jsonEqual(current, op.value)) {
        // Nothing to change: no revision is recorded for this path (docs/decisions.md, "A write that changes nothing makes no revision").
        results.push({ modRevision: modRevisionOf(tree, doc, segments), existed });
        continue;
      }
      // A change inside an array shifts or replaces its elements: the array as a whole changed.
      const parentIsArray = segments.length > 0 && Array.isArray(getAt(doc, parentPath));
      const changed = parentIsArray ? parentPath : segments;
      if (op.op === 'set') {
        const probe = probeSize(doc, changed);
        doc = setIn(doc, segments, op.value, owned);
        bytes += sizeDelta(probe, doc);
        tree = recordSet(tree, changed, revision);
        changes.push({ segments: changed, value: getAt(doc, changed) });
        results.push({ modRevision: revision, existed });
      } else {
        const probe = probeSize(doc, changed);
        const removed = deleteIn(doc, segments);
        doc = removed.root;
        if (removed.existed) {
          bytes += sizeDelta(probe, doc);
          tree = parentIsArray ? recordSet(tree, parentPath, revision) : recordDelete(tree, segments, revision);
          if (parentIsArray) changes.push({ segments: parentPath, value: getAt(doc, parentPath) });
          else if (segments.length === 0) changes.push({ segments, value: doc }); // the root is emptied, not removed
          else changes.push({ segments, deleted: true });
        }
        results.push({ modRevision: removed.existed ? revision : 0, existed: removed.existed });
      }
    }
  } catch (error) {
    owned?.rollback();
    throw error;
  }
  // A write that changes nothing (equal values, deletes of what is not there): the caller decides whether it makes a revision.
  return { state: { doc, revision, tree, ...(state.layers === undefined ? {} : { layers: state.layers }) }, results, changes, unchanged: changes.length === 0, bytes };
}

/** Deep equality of two JSON values (key order ignored, as JSON objects are unordered). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => jsonEqual(item, other[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && jsonEqual(left[key], right[key]));
}
