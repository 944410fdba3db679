// Random writes over a few overlapping paths (nested objects, a wide object,
// an array, objects replaced whole and written into), for the property tests
// of in-place changes (owned-copies.test.ts, two-trees.test.ts), and the
// check that in-place changes kept every object's key count.
import assert from 'node:assert/strict';
import type { WriteOp } from '../../protocol/index.js';
import { entryCount } from '../../sidecar/store/container-size.js';

const PATHS = ['a', 'a.x', 'a.y', 'a.x.deep', 'b', 'big.k1', 'big.k2', 'big.k3', 'big.k4', 'big.k5', 'arr', 'arr.0', 'arr.1', 'arr.0.z', 'c.d.e'];

export function randomValue(random: () => number): unknown {
  const pick = Math.floor(random() * 6);
  if (pick === 0) return Math.floor(random() * 100);
  if (pick === 1) return `s${Math.floor(random() * 10)}`;
  if (pick === 2) return { n: Math.floor(random() * 3) };
  if (pick === 3) return [1, { z: 2 }];
  if (pick === 4) return null;
  return {};
}

/** One write: one to three sets (80%) or deletes. */
export function randomOps(random: () => number): WriteOp[] {
  return Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
    const path = PATHS[Math.floor(random() * PATHS.length)]!;
    return random() < 0.8 ? { op: 'set', path, value: randomValue(random) } : { op: 'delete', path };
  });
}

/** Every object's cached key count matches its keys. */
export function countsHold(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (!Array.isArray(value)) assert.equal(entryCount(value), Object.keys(value).length);
  for (const child of Object.values(value)) countsHold(child);
}
