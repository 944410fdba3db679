// Embedding a sidecar in-process (tests, tools): start it, stop it.
export { Sidecar, type SidecarOptions } from './sidecar.js';
export { AlreadyOwnedError } from './ownership/ownership-lock.js';
export { StartupError } from './file/config-file.js';
export { realFs, type FsOps } from './disk/fs-ops.js';
export { createLogger, type Logger, type LogLevel } from './ops/logger.js';
export type { SocketAccess } from './net/transport.js';
