// The commit queue's gate when the sidecar serves layers: every candidate is
// the file's document merged over the fleet and system layers (locks applied),
// checked whole by the schema when there is one (which adds its defaults, the
// lowest layer). Watchers get the change of that merged view.
import { getAt } from '../../protocol/index.js';
import type { Admission } from '../store/commit-queue.js';
import { validationFailed, type ConfigSchema } from '../schema/config-schema.js';
import { META_KEYS } from '../file/file-envelope.js';
import { viewChanges } from '../schema/schema-admission.js';
import { jsonEqual, type StoreState } from '../store/store-state.js';
import type { JsonObject } from '../store/document.js';
import { mergeLayers } from './layer-merge.js';

/** The document readers see for `state`: its layers merged, before schema defaults. */
export function mergedDocument(state: StoreState): JsonObject {
  return state.layers === undefined ? state.doc : mergeLayers({ ...state.layers, user: state.doc }, state.layers.locks).merged;
}

export function layeredAdmission(schema: ConfigSchema | undefined): Admission {
  return async (next, previous, changes) => {
    const merged = mergedDocument(next);
    const before = previous.view ?? mergedDocument(previous);
    let view = merged;
    if (schema !== undefined) {
      const managed = META_KEYS.filter((key) => Object.hasOwn(next.doc, key));
      if (managed.length > 0) throw validationFailed(managed.map((key) => ({ path: key, message: 'is kept by the sidecar and cannot be set' })));
      view = (await schema.check(merged, before)).view;
    }
    // A written path whose served value did not move (a value under a lock) is no change for watchers.
    const all = viewChanges({ ...previous, view: before }, view, changes);
    const moved = all.filter((change) => !jsonEqual(getAt(before, change.segments), change.deleted === true ? undefined : change.value));
    return { state: { ...next, view }, changes: moved };
  };
}
