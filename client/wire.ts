// What a connection needs only once it dials: the client's msgpack codec, the socket
// transport, the socket's trust check, the frame decoder and the shapes the
// sidecar's messages are checked against. Loaded on the first dial, so
// importing the client library costs none of them (docs/decisions.md,
// "Client").
export { decodeValue, encodeMessage, encodeValue } from '../protocol/plain-msgpack.js';
export { dial, type Link } from './transport.js';
export { FrameDecoder } from '../protocol/frame.js';
export { OPERATION_RESPONSES } from '../protocol/operations.js';
export { PROTOCOL_VERSION, ConnectionErrorSchema, ResponseSchema, ServerHelloSchema, WatchEventSchema, WatchProgressSchema } from '../protocol/server-messages.js';
export { ShapeError } from '../protocol/shape.js';
export { checkSocketTrust, resolveOwner } from './socket-trust.js';
