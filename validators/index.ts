// Validators for common config fields, for use in a config schema:
//   import { existingDirectory, port } from 'config-sidecar/validators';
export { existingDirectory, executableFile, loginShell } from './file-system.js';
export { boundedArray, boundedString, regexPattern } from './text.js';
export { port, url } from './network.js';
// For validators of your own that ask the disk: fail through this so the sidecar can tell such failures apart.
export { diskCheckFailed } from './disk-checks.js';
