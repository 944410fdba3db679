// The served document as the merge of its layers: fleet < system < user
// (schema defaults sit below all three and are applied by the schema), objects
// merged per key, anything else replaced by the higher layer. A locked path
// takes its value from the layers below user only. Pure: no I/O.
import { formatPath, getAt, isPlainObject } from '../../protocol/index.js';
import { deleteIn, type JsonObject } from '../store/document.js';
import type { StoreState } from '../store/store-state.js';

/** The layers a value can come from, lowest first. */
export type LayerName = 'default' | 'fleet' | 'system' | 'user';

/** The documents of the layers the sidecar holds (defaults come from the schema). */
export interface LayerDocs {
  fleet: JsonObject;
  system: JsonObject;
  user: JsonObject;
}

/** `high` over `low`: objects merged per key, anything else replaced. */
export function mergeValues(low: unknown, high: unknown): unknown {
  if (high === undefined) return low;
  if (!isPlainObject(low) || !isPlainObject(high)) return high;
  const out: JsonObject = { ...low };
  for (const [key, value] of Object.entries(high)) out[key] = mergeValues(low[key], value);
  return out;
}

/**
 * The user document without what the locks take away: the value at each
 * locked path, and any non-object on the way to one (it would hide the
 * locked value), and the objects that removal leaves empty. `ignored` lists
 * the paths removed, for health.
 */
export function withoutLocked(user: JsonObject, locks: readonly (readonly string[])[]): { doc: JsonObject; ignored: string[][] } {
  let doc = user;
  const ignored: string[][] = [];
  for (const lock of locks) {
    for (let depth = 1; depth <= lock.length; depth++) {
      const segments = lock.slice(0, depth);
      const value = getAt(doc, segments);
      if (value === undefined) break;
      if (depth === lock.length || !isPlainObject(value)) {
        doc = deleteIn(doc, segments).root;
        ignored.push(segments);
        // An ignored value is as if it were not there: objects it leaves empty go with it.
        for (let up = depth - 1; up > 0; up--) {
          const parent = getAt(doc, segments.slice(0, up));
          if (!isPlainObject(parent) || Object.keys(parent).length > 0) break;
          doc = deleteIn(doc, segments.slice(0, up)).root;
        }
        break;
      }
    }
  }
  return { doc, ignored };
}

/** The merged document (before schema defaults) and the user paths the locks override. */
export function mergeLayers(docs: LayerDocs, locks: readonly (readonly string[])[]): { merged: JsonObject; ignored: string[][] } {
  const { doc: user, ignored } = withoutLocked(docs.user, locks);
  const lower = mergeValues(docs.fleet, docs.system);
  return { merged: mergeValues(lower, user) as JsonObject, ignored };
}

/**
 * The highest layer that sets `segments` (its value, or a value above it
 * that replaces everything under it); 'default' when only the view has it.
 */
export function layerOf(docs: LayerDocs, locks: readonly (readonly string[])[], segments: readonly string[], view: JsonObject): LayerName | undefined {
  const user = withoutLocked(docs.user, locks).doc;
  const layers: [LayerName, JsonObject][] = [
    ['user', user],
    ['system', docs.system],
    ['fleet', docs.fleet],
  ];
  for (const [name, doc] of layers) if (getAt(doc, segments) !== undefined) return name;
  return getAt(view, segments) === undefined ? undefined : 'default';
}

/** The layer the value `state` serves at `segments` comes from (state.layers set). */
export function servedLayer(state: StoreState, segments: readonly string[]): LayerName | undefined {
  const layers = state.layers ?? { fleet: {}, system: {}, locks: [] };
  return layerOf({ ...layers, user: state.doc }, layers.locks, segments, state.view ?? state.doc);
}

/** Each layer and the served document, for `dump --layers`. */
export function describeLayers(state: StoreState): Record<string, unknown> {
  const layers = state.layers ?? { fleet: {}, system: {}, locks: [] };
  return { fleet: layers.fleet, system: layers.system, user: state.doc, locks: layers.locks.map((lock) => formatPath(lock)), served: state.view ?? state.doc };
}
