// The fleet document built from the etcd keys under the prefix: each key's
// path below the prefix is the dot path (`server/port` → `server.port`), each
// value is JSON text. Keys that cannot be placed are reported, never thrown.
import { DEFAULT_LIMITS, FORBIDDEN_SEGMENTS, isPlainObject } from '../../protocol/index.js';
import type { JsonObject } from '../store/document.js';

/** etcd key below the prefix (`server/port`) → its value text (`8080`). */
export type FleetEntries = ReadonlyMap<string, string>;

/** Why a key was left out of the document. */
export type FleetProblemKind = 'not-json' | 'forbidden-segment' | 'empty-segment' | 'too-deep' | 'conflict';

/** A key left out of the document, and why. */
export interface FleetProblem {
  /** The key below the prefix. */
  key: string;
  kind: FleetProblemKind;
  message: string;
}

export interface FleetDocument {
  document: JsonObject;
  problems: FleetProblem[];
}

/**
 * Builds the document from the whole key set, so the result never depends on
 * the order keys were written in. Shallower keys are placed first; a deeper key
 * replaces the same path inside a shallower key's JSON object (the more
 * specific key wins, objects merge per key); a deeper key below a shallower
 * key's non-object value is a conflict and left out.
 */
export function buildFleetDocument(entries: FleetEntries, maxDepth = DEFAULT_LIMITS.maxDepth): FleetDocument {
  const problems: FleetProblem[] = [];
  const document: JsonObject = {};
  // Which key placed a non-object value at a path (joined with NUL), to name it in a conflict.
  const owners = new Map<string, string>();
  const keys = [...entries.keys()]
    .map((key) => ({ key, segments: key.split('/') }))
    .sort((a, b) => a.segments.length - b.segments.length || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  for (const { key, segments } of keys) {
    const report = (kind: FleetProblemKind, message: string) => problems.push({ key, kind, message });
    if (segments.some((segment) => segment === '')) {
      report('empty-segment', `key "${key}" has an empty segment (leading, trailing or doubled "/")`);
      continue;
    }
    const forbidden = segments.find((segment) => FORBIDDEN_SEGMENTS.has(segment));
    if (forbidden !== undefined) {
      report('forbidden-segment', `key "${key}" has the forbidden segment "${forbidden}"`);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(entries.get(key) ?? '');
    } catch (error) {
      report('not-json', `value of "${key}" is not JSON text: ${(error as Error).message}`);
      continue;
    }
    const inside = checkValue(value, segments.length, maxDepth);
    if (inside !== undefined) {
      report(inside.kind, `value of "${key}" ${inside.message}`);
      continue;
    }
    const blocker = place(document, segments, value, owners, key);
    if (blocker !== undefined) {
      report('conflict', `key "${key}" lies below "${blocker}", whose value is not an object`);
    }
  }
  return { document, problems };
}

/** A forbidden key inside the value, or nesting past the limit (counting the key's own depth). */
function checkValue(value: unknown, depth: number, maxDepth: number): { kind: FleetProblemKind; message: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth >= maxDepth) return { kind: 'too-deep', message: `nests deeper than ${maxDepth} levels` };
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = checkValue(item, depth + 1, maxDepth);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [name, item] of Object.entries(value)) {
    if (FORBIDDEN_SEGMENTS.has(name)) return { kind: 'forbidden-segment', message: `has the forbidden key "${name}"` };
    const found = checkValue(item, depth + 1, maxDepth);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Puts `value` at `segments`; returns the key whose non-object value is in the way, if any. */
function place(document: JsonObject, segments: string[], value: unknown, owners: Map<string, string>, key: string): string | undefined {
  let node: JsonObject = document;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i] as string;
    const child = Object.hasOwn(node, segment) ? node[segment] : undefined;
    if (child === undefined) {
      const created: JsonObject = {};
      node[segment] = created;
      node = created;
    } else if (isPlainObject(child)) {
      node = child;
    } else {
      return ownerOf(segments.slice(0, i + 1), owners);
    }
  }
  const last = segments[segments.length - 1] as string;
  const existing = Object.hasOwn(node, last) ? node[last] : undefined;
  node[last] = isPlainObject(existing) && isPlainObject(value) ? mergeObjects(existing, value) : value;
  owners.set(segments.join('\0'), key);
  return undefined;
}

/** The key that placed the value at `segments` or at the nearest path above it. */
function ownerOf(segments: string[], owners: Map<string, string>): string {
  for (let n = segments.length; n > 0; n--) {
    const owner = owners.get(segments.slice(0, n).join('\0'));
    if (owner !== undefined) return owner;
  }
  return segments.join('/');
}

/** `over` merged into `base` per key (objects recursively, anything else replaced). */
function mergeObjects(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [name, value] of Object.entries(over)) {
    const below = Object.hasOwn(out, name) ? out[name] : undefined;
    out[name] = isPlainObject(below) && isPlainObject(value) ? mergeObjects(below, value) : value;
  }
  return out;
}
