// config-sidecar client: connect() and what its calls return and throw.
export { connect, ConfigClient, type ConnectOptions, type Entry, type WriteResult, type WriteOptions, type BatchOp } from './client.js';
export { ConfigSidecarError, ClientErrorCode, type AnyErrorCode } from './client-errors.js';
export { ErrorCode } from '../protocol/errors.js';
export type { CallOptions } from './calls.js';
export type { StatusEvent, ConnectionState, ReconnectPolicy } from './reconnect.js';
export { reconnectDelay } from './reconnect.js';
export type { Path, ValueAt, PathArg } from './typed-paths.js';
