// The first served state when the sidecar serves layers: the loaded file merged
// over the stored fleet state and the system file. A layer the schema refuses
// is left out (health says so) rather than failing the start.
import type { ConfigSchema } from '../schema/config-schema.js';
import type { StoreState } from '../store/store-state.js';
import type { LayerSources } from './layer-sources.js';
import { layeredAdmission } from './layered-admission.js';

export async function initialLayeredState(unlayered: StoreState, layers: LayerSources, schema: ConfigSchema | undefined): Promise<StoreState> {
  const admit = layeredAdmission(schema);
  for (const refused of ['fleet', 'system', undefined] as const) {
    try {
      const { state } = await admit({ ...unlayered, layers: layers.initial }, unlayered, []);
      return state;
    } catch (error) {
      if (refused === undefined) break;
      layers.refuseInitial(refused, (error as Error).message);
    }
  }
  // The file alone fails the schema with the layers (a lock hides a value it needs): serve it as it was.
  return { ...unlayered, layers: layers.initial };
}
