// `serve --fleet* --system-file --locks`: the layers below the file, resolved
// once at start (files read, the fleet URL checked) so a mistake is a usage
// error naming the flag, before anything is locked.
import path from 'node:path';
import { FLEET_FLAGS, resolveFleetConnection, type FleetFlagValues } from '../sidecar/fleet/index.js';
import { readLocksFile } from '../sidecar/layers/locks-file.js';
import type { LayerOptions } from '../sidecar/layers/layer-sources.js';
import { DEFAULT_LIMITS } from '../protocol/index.js';
import { UsageError } from './cli-errors.js';

export async function parseLayerFlags(values: Record<string, unknown>): Promise<LayerOptions | undefined> {
  const systemFile = values['system-file'] as string | undefined;
  const locksFile = values.locks as string | undefined;
  try {
    const fleetFlags = Object.fromEntries(Object.keys(FLEET_FLAGS).map((name) => [name, values[name]])) as FleetFlagValues;
    const fleet = await resolveFleetConnection(fleetFlags);
    if (fleet === undefined && systemFile === undefined && locksFile === undefined) return undefined;
    return {
      ...(fleet === undefined ? {} : { fleet }),
      ...(systemFile === undefined ? {} : { systemFile: path.resolve(systemFile) }),
      ...(locksFile === undefined ? {} : { locks: await readLocksFile(locksFile, DEFAULT_LIMITS.maxDepth) }),
    };
  } catch (error) {
    throw new UsageError((error as Error).message, 'serve');
  }
}
