// Turns what etcd reported (the events of one revision, a fresh read of the
// whole prefix, a progress mark) into the next fleet state and the change sets
// to deliver: one per etcd revision, one for a re-read. Pure: no I/O.
import { diffValues } from '../../protocol/index.js';
import type { JsonObject } from '../store/document.js';
import { buildFleetDocument, type FleetDocument, type FleetProblem } from './fleet-document.js';

/** Something etcd told the source, in etcd's order. */
export type FleetStep =
  /** The events of one revision under the prefix (value undefined = deleted). */
  | { kind: 'revision'; revision: number; ops: { key: string; value: string | undefined }[] }
  /** The whole prefix as read at `revision` (first read, or after compaction or a cluster change). */
  | { kind: 'read'; revision: number; clusterId: string; entries: Map<string, string> }
  /** etcd says no event under the prefix is pending up to `revision`. */
  | { kind: 'progress'; revision: number };

/** One change set delivered to the fleet source's callback. */
export interface FleetChange {
  /** etcd revision the document is the state of. */
  revision: number;
  /** The whole new fleet document. */
  document: JsonObject;
  /** The smallest paths whose value changed (segments); empty when the revision changed no value. */
  changed: string[][];
  /** `watch`: one etcd revision; `initial`: the first read; `resync`: a re-read delivered as one change. */
  kind: 'watch' | 'initial' | 'resync';
  /** Keys left out of the document, and why. */
  problems: FleetProblem[];
}

/** The state a run of steps starts from and ends in. */
export interface FleetView {
  /** undefined until the prefix has been read once. */
  clusterId: string | undefined;
  revision: number;
  entries: Map<string, string>;
  built: FleetDocument;
}

export const EMPTY_VIEW: FleetView = { clusterId: undefined, revision: 0, entries: new Map(), built: { document: {}, problems: [] } };

/** Applies `steps` in order to `from` (never mutated); returns the new view and the changes to deliver. */
export function applySteps(from: FleetView, steps: readonly FleetStep[]): { view: FleetView; changes: FleetChange[]; durable: boolean } {
  let view = from;
  let durable = false;
  const changes: FleetChange[] = [];
  for (const step of steps) {
    if (step.kind === 'progress') {
      if (step.revision > view.revision) view = { ...view, revision: step.revision };
      continue;
    }
    durable = true;
    if (step.kind === 'revision') {
      if (step.revision <= view.revision) continue; // already applied: never deliver a revision twice
      const entries = new Map(view.entries);
      for (const op of step.ops) {
        if (op.value === undefined) entries.delete(op.key);
        else entries.set(op.key, op.value);
      }
      const built = buildFleetDocument(entries);
      changes.push(change(view, built, step.revision, 'watch'));
      view = { clusterId: view.clusterId, revision: step.revision, entries, built };
      continue;
    }
    const built = buildFleetDocument(step.entries);
    const first = view.clusterId === undefined;
    const next = change(view, built, step.revision, first ? 'initial' : 'resync');
    if (first || next.changed.length > 0) changes.push(next);
    view = { clusterId: step.clusterId, revision: step.revision, entries: step.entries, built };
  }
  return { view, changes, durable };
}

function change(from: FleetView, built: FleetDocument, revision: number, kind: FleetChange['kind']): FleetChange {
  const changed = diffValues({ exists: true, value: from.built.document }, { exists: true, value: built.document }).map((c) => c.path);
  return { revision, document: built.document, changed, kind, problems: built.problems };
}
