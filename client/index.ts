// config-sidecar client: connect() and what its calls return and throw.
export type { ChangeEvent, WatchOptions } from './watches.js';
export type { WatchStream } from './watch-stream.js';
export type { ViewChange } from './watch-view.js';
export { connect, ConfigClient, type WatchHandle, type ConnectOptions, type ReadOptions, type Entry, type WriteResult, type WriteOptions, type BatchOp, type BackupEntry, type Guard, type CloseOptions, type ClientEvents } from './client.js';
export type { ExpectedOwner } from './socket-trust.js';
export { ConfigSidecarError, ClientErrorCode, type AnyErrorCode } from './client-errors.js';
export { ErrorCode } from '../protocol/errors.js';
export type { HealthResult } from '../protocol/server-messages.js';
export type { CallOptions } from './calls.js';
export type { AutoStartOptions } from './auto-start.js';
export type { StatusEvent, ConnectionState, ReconnectPolicy } from './reconnect.js';
export { reconnectDelay } from './reconnect.js';
export type { Path, Segments, ValueAt, PathArg } from './typed-paths.js';
