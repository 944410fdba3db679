// Writes refused under a lock: a set or delete at or under a locked path, or a
// set above one whose value would set the locked path, gets LOCKED naming the
// layer the locked value comes from.
import { ErrorCode, ProtocolError, formatPath, getAt, parsePath, type WriteOp } from '../../protocol/index.js';
import type { StoreState } from '../store/store-state.js';
import { layerOf } from './layer-merge.js';

export function refuseLocked(state: StoreState, ops: readonly WriteOp[]): void {
  const layers = state.layers;
  if (layers === undefined || layers.locks.length === 0) return;
  for (const op of ops) {
    const segments = parsePath(op.path);
    for (const lock of layers.locks) {
      const under = lock.length <= segments.length && lock.every((key, i) => segments[i] === key);
      const above = !under && segments.every((key, i) => lock[i] === key) && op.op === 'set' && getAt(op.value, lock.slice(segments.length)) !== undefined;
      if (!under && !above) continue;
      const layer = layerOf({ fleet: layers.fleet, system: layers.system, user: {} }, [], lock, state.view ?? {}) ?? 'none';
      const locked = formatPath(lock);
      throw new ProtocolError(
        ErrorCode.LOCKED,
        `${locked} is locked by the administrator; its value comes from the ${layer} layer${layer === 'none' ? ' (no layer sets it)' : ''}; nothing was applied`,
        { path: formatPath(segments), locked, layer },
      );
    }
  }
}
