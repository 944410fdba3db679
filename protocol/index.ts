// The wire contract shared by sidecar and client: no I/O, no transport.
export * from './errors.js';
export * from './limits.js';
export * from './frame.js';
export * from './codec.js';
export * from './paths.js';
export * from './messages.js';
export * from './default-paths.js';
export * from './json-diff.js';
export * from './validation-issues.js';
export * from './server-messages.js';
export * from './operations.js';
export * as shape from './shape.js';
export * from './schema-hash.js';
export * from './json-numbers.js';
export * from './exact-json.js';
