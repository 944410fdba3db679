// What a connection needs only once it dials: the msgpack codec and the
// socket transport. Loaded on the first dial, so importing the
// client library costs neither (docs/decisions.md, "Client").
export { decodeValue, encodeMessage, encodeValue } from '../protocol/codec.js';
export { dial, type Link } from './transport.js';
