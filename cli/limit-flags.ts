// `serve --limit NAME=VALUE`: override one of the sidecar's limits (docs/protocol.md, Limits).
import { DEFAULT_LIMITS, type Limits } from '../protocol/index.js';

const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];

/** Parse every `--limit` flag; a bad one throws an Error naming the flag and the allowed names. */
export function parseLimitFlags(flags: readonly string[]): Partial<Limits> {
  const limits: Partial<Limits> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const name = flag.slice(0, eq) as keyof Limits;
    const text = flag.slice(eq + 1);
    if (eq < 0 || !LIMIT_NAMES.includes(name)) {
      throw new Error(`--limit ${flag}: expected NAME=VALUE with NAME one of ${LIMIT_NAMES.join(', ')}`);
    }
    // Plain decimal digits only: Number() would also take " 5", "1e3" and "0x10", which are typos more often than intent.
    const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--limit ${flag}: ${name} must be a positive integer`);
    limits[name] = value;
  }
  return limits;
}
