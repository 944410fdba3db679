// Dot paths: "server.port", "dirs.0", or an array of segments; "" / [] is the
// whole document. Segments that could reach an object's prototype are refused
// everywhere, in paths and in value keys.
import { ErrorCode, ProtocolError } from './errors.js';

export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A path as callers may write it. */
export type PathInput = string | readonly string[];

/** Splits and checks a path; throws BAD_REQUEST naming the bad segment. */
export function parsePath(path: PathInput): string[] {
  const segments = typeof path === 'string' ? (path === '' ? [] : path.split('.')) : [...path];
  segments.forEach((segment, index) => {
    if (typeof segment !== 'string') {
      throw new ProtocolError(ErrorCode.BAD_REQUEST, `path segment ${index} is not a string`);
    }
    if (segment === '') {
      throw new ProtocolError(ErrorCode.BAD_REQUEST, `path ${JSON.stringify(formatPathInput(path))} has an empty segment at position ${index}`);
    }
    if (FORBIDDEN_SEGMENTS.has(segment)) {
      throw new ProtocolError(ErrorCode.BAD_REQUEST, `path segment "${segment}" is forbidden (prototype keys are never accepted)`, {
        segment,
      });
    }
  });
  return segments;
}

/** The dot form of a segment list (segments containing dots stay ambiguous; use arrays for those). */
export function formatPath(segments: readonly string[]): string {
  return segments.join('.');
}

function formatPathInput(path: PathInput): string {
  return typeof path === 'string' ? path : path.join('.');
}

/** True when `prefix` is `path` or one of its ancestors. */
export function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}

/** Reads the value at `segments`, or undefined when any step is missing. */
export function getAt(doc: unknown, segments: readonly string[]): unknown {
  let node: unknown = doc;
  for (const segment of segments) {
    node = childOf(node, segment);
    if (node === undefined) return undefined;
  }
  return node;
}

/** One step down: an object key or an array index; undefined when absent. */
export function childOf(node: unknown, segment: string): unknown {
  if (Array.isArray(node)) {
    const index = arrayIndex(segment);
    return index === undefined ? undefined : node[index];
  }
  if (isPlainObject(node)) return Object.hasOwn(node, segment) ? node[segment] : undefined;
  return undefined;
}

/** A canonical non-negative integer segment ("0", "12", not "01" or "-1"), else undefined. */
export function arrayIndex(segment: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(segment)) return undefined;
  return Number(segment);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
