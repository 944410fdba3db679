// msgpack payload <-> plain values, through msgpackr: what the sidecar uses
// (the client's own, lighter codec is plain-msgpack.ts). Every payload is first
// walked (msgpack-check.ts) and handed to msgpackr only if it passed.
// msgpackr's plain JavaScript build: its main entry also loads the optional native string
// extractor (~8 MiB in every process that decodes), which decodes our documents no faster.
import { Packr } from 'msgpackr/pack';
import { Unpackr } from 'msgpackr/unpack';
import { encodeFrame } from './frame.js';
import { checkMsgpack, type DecodeLimits, type DecodeOptions } from './msgpack-check.js';
import { PACKR_OPTIONS } from './plain-msgpack.js';

export { DecodeError, type DecodeLimits, type DecodeOptions } from './msgpack-check.js';

const packr = new Packr(PACKR_OPTIONS as ConstructorParameters<typeof Packr>[0]);
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/**
 * Encodes a plain JSON-compatible value (maps as objects, no records, no
 * extensions). The result views msgpackr's reusable buffer: copy it (as
 * encodeMessage does) before the next encode.
 */
export function encodeValue(value: unknown): Buffer {
  return packr.pack(value);
}

/** Encodes one message as a complete frame (length prefix + msgpack), in its own buffer. */
export function encodeMessage(message: unknown): Buffer {
  return encodeFrame(encodeValue(message));
}

/** Validates then decodes one msgpack payload. Throws DecodeError naming what was wrong and where. */
export function decodeValue(payload: Uint8Array, limits: DecodeLimits, options: DecodeOptions = { exact: true }): unknown {
  checkMsgpack(payload, limits, options);
  return unpackr.unpack(payload);
}
