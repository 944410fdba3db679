// The writes that turn one document into another: how a hand edit or a
// migration becomes a single revision of ordinary set/delete operations.
import { diffValues, type WriteOp } from '../../protocol/index.js';
import type { JsonObject } from './document.js';

export function diffOps(before: JsonObject, after: JsonObject): WriteOp[] {
  return diffValues({ exists: true, value: before }, { exists: true, value: after }).map((change) =>
    change.deleted ? { op: 'delete', path: change.path } : { op: 'set', path: change.path, value: change.value },
  );
}
