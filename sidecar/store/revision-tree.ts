// modRevision bookkeeping, copy-on-write like the document it shadows.
// Each tracked node holds `mod` (last revision that changed it or anything
// below it) and `base` (last revision that replaced it whole). Paths below a
// node with no record of them were last changed when that node was replaced,
// so they report its `base`: the tree only grows along paths actually written.
import { childOf } from '../../protocol/index.js';
import { PersistentMap } from './persistent-map.js';

export interface RevisionNode {
  readonly mod: number;
  readonly base: number;
  readonly children: PersistentMap<RevisionNode> | undefined;
}

/** A tree in which the whole document was written at `revision`. */
export function freshTree(revision: number): RevisionNode {
  return { mod: revision, base: revision, children: undefined };
}

/** The modRevision of `segments` in `doc`; 0 when the path does not exist. */
export function modRevisionOf(tree: RevisionNode, doc: unknown, segments: readonly string[]): number {
  let value: unknown = doc;
  let node: RevisionNode | undefined = tree;
  let inherited = tree.base;
  for (const segment of segments) {
    value = childOf(value, segment);
    if (value === undefined) return 0;
    if (node !== undefined) {
      inherited = node.base;
      node = node.children?.get(segment);
    }
  }
  return node !== undefined ? node.mod : inherited;
}

/** Records that `segments` was replaced (set) at `revision`. */
export function recordSet(tree: RevisionNode, segments: readonly string[], revision: number): RevisionNode {
  return update(tree, segments, 0, revision, 'set');
}

/** Records that `segments` was removed at `revision`. */
export function recordDelete(tree: RevisionNode, segments: readonly string[], revision: number): RevisionNode {
  if (segments.length === 0) return freshTree(revision);
  return update(tree, segments, 0, revision, 'delete');
}

function update(
  node: RevisionNode,
  segments: readonly string[],
  depth: number,
  revision: number,
  kind: 'set' | 'delete',
): RevisionNode {
  if (depth === segments.length) return freshTree(revision);
  const segment = segments[depth]!;
  const current = node.children ?? PersistentMap.empty<RevisionNode>();
  let children: PersistentMap<RevisionNode>;
  if (kind === 'delete' && depth === segments.length - 1) {
    children = current.without(segment);
  } else {
    // An untracked child inherits this node's base: its other contents date from then.
    const child = current.get(segment) ?? { mod: node.base, base: node.base, children: undefined };
    children = current.with(segment, update(child, segments, depth + 1, revision, kind));
  }
  return { mod: revision, base: node.base, children };
}
