// The schema's gate on the commit queue: every candidate document is checked
// whole before it is accepted, and what watchers see is the change of the
// view (defaults included), not of the bare file content. Disk checks count
// for the values a write brings in, not for those it leaves as they were.
import { diffValues, getAt, isPrefix } from '../../protocol/index.js';
import type { Admission } from '../store/commit-queue.js';
import type { ConfigSchema } from './config-schema.js';
import { validationFailed } from './config-schema.js';
import { META_KEYS } from '../file/file-envelope.js';
import type { Change, StoreState } from '../store/store-state.js';

export function schemaAdmission(schema: ConfigSchema): Admission {
  return async (next, previous, changes) => {
    const managed = META_KEYS.filter((key) => Object.hasOwn(next.doc, key));
    if (managed.length > 0) throw validationFailed(managed.map((key) => ({ path: key, message: 'is kept by the sidecar and cannot be set' })));
    const { view } = await schema.check(next.doc, previous.doc);
    return { state: { ...next, view }, changes: viewChanges(previous, view, changes) };
  };
}

/**
 * Every path the write touched, with its value in the new view (so unsetting
 * a value with a default reports the default, not a deletion), followed by
 * anything else the view changed (values derived by the schema's transforms).
 */
export function viewChanges(previous: StoreState, view: object, written: readonly Change[]): Change[] {
  const out: Change[] = written.map(({ segments }) => {
    const value = getAt(view, segments);
    return value === undefined ? { segments, deleted: true } : { segments, value };
  });
  for (const change of diffValues({ exists: true, value: previous.view ?? previous.doc }, { exists: true, value: view })) {
    if (written.some(({ segments }) => isPrefix(segments, change.path))) continue;
    out.push(change.deleted ? { segments: change.path, deleted: true } : { segments: change.path, value: change.value });
  }
  return out;
}
