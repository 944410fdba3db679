// `serve --quarantine FILES,BYTES`: how much quarantine/ keeps (sidecar/file/quarantine.ts).
import { DEFAULT_QUARANTINE, type QuarantineBounds } from '../sidecar/file/quarantine.js';

/** Parses the flag; either part may be empty to keep its default. A bad value throws an Error naming it. */
export function parseQuarantineFlag(text: string): QuarantineBounds {
  const parts = text.split(',');
  if (parts.length !== 2) throw new Error(`--quarantine ${text}: expected FILES,BYTES (e.g. 20,67108864 or ,1048576)`);
  const read = (value: string, fallback: number, what: string): number => {
    if (value === '') return fallback;
    // Plain decimal digits only, as for --limit.
    const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--quarantine ${text}: ${what} must be a positive integer`);
    return n;
  };
  return { maxFiles: read(parts[0]!, DEFAULT_QUARANTINE.maxFiles, 'FILES'), maxBytes: read(parts[1]!, DEFAULT_QUARANTINE.maxBytes, 'BYTES') };
}
