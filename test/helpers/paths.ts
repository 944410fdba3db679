// Where the built entry points are, for tests that start real processes.
import { fileURLToPath } from 'node:url';

/** dist/cli/main.js */
export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
/** dist/test/helpers/client-worker.js */
export const CLIENT_WORKER = fileURLToPath(new URL('./client-worker.js', import.meta.url));
/** dist/test/helpers/crashing-sidecar.js */
export const CRASHING_SIDECAR = fileURLToPath(new URL('./crashing-sidecar.js', import.meta.url));
