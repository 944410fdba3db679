// Embedding a sidecar in-process (tests, tools): start it, stop it.
export { Sidecar, type SidecarOptions } from './sidecar.js';
export { AlreadyOwnedError } from './ownership-lock.js';
export { StartupError } from './config-file.js';
export { realFs, type FsOps } from './fs-ops.js';
export { createLogger, type Logger, type LogLevel } from './logger.js';
export type { SocketAccess } from './transport.js';
