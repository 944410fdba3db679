// The fleet layer's public surface: the source that follows an etcd prefix,
// the URL and flags that configure it, and the types it delivers. Importing it
// does not load etcd3; starting a source does.
export { FleetSource, type FleetSourceOptions, type FleetStatus } from './fleet-source.js';
export type { FleetChange } from './fleet-changes.js';
export { buildFleetDocument, type FleetDocument, type FleetEntries, type FleetProblem, type FleetProblemKind } from './fleet-document.js';
export { FLEET_FLAGS, FLEET_PASSWORD_ENV, resolveFleetConnection, type FleetConnection, type FleetFlagValues } from './fleet-connection.js';
export { FleetConfigError, parseFleetUrl, type FleetUrl } from './fleet-url.js';
export { FLEET_STATE_FILE } from './fleet-state-file.js';
