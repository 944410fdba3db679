// JSON text read exactly, or refused with the path and line of the problem.
// JSON.parse alone changes what it reads without a word: it rounds integers
// beyond 2^53, reads 1e400 as Infinity, keeps the last of two equal keys, and
// is handed text whose invalid UTF-8 was already replaced by U+FFFD. Here the
// bytes must be UTF-8, the text must parse, and a scan of the text (after the
// parse, so it may assume valid JSON) refuses numbers outside json-numbers.ts,
// escapes that leave a lone surrogate, duplicate keys and nesting deeper than
// allowed. Used for the config file (at start and after a hand edit) and for
// values typed on the command line.
import { isUtf8 } from 'node:buffer';
import { MAX_EXACT_NUMBER, OUTSIDE_RANGE } from './json-numbers.js';
import { formatPath } from './paths.js';

/** A parsed value, or why the text cannot be read exactly (`syntax`: it is not JSON at all). */
export type ExactJson = { ok: true; value: unknown } | { ok: false; problem: string; syntax: boolean };

/**
 * Parses `source` (bytes from a file, or a string) exactly. `maxDepth` is the
 * deepest nesting allowed (the top-level object or array is depth 1).
 */
export function parseExactJson(source: Uint8Array | string, maxDepth: number): ExactJson {
  let text: string;
  if (typeof source === 'string') {
    text = source;
  } else {
    const bytes = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    text = bytes.toString('utf8');
    if (!isUtf8(bytes)) {
      const at = firstInvalidUtf8(bytes);
      // Where the bad byte sits in the decoded text: the scan below names its path.
      const offset = bytes.subarray(0, at).toString('utf8').length;
      return { ok: false, problem: `invalid UTF-8 (byte 0x${bytes[at]!.toString(16)} at offset ${at}) ${locate(text, offset)}`, syntax: false };
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `invalid JSON: ${(error as Error).message}`, syntax: true };
  }
  const problem = scan(text, maxDepth);
  return problem === undefined ? { ok: true, value } : { ok: false, problem, syntax: false };
}

interface Level {
  isObject: boolean;
  index: number; // arrays: the current element
  key: string; // objects: the current member
  awaitingKey: boolean; // objects: the next string is a key
  keys: string[] | undefined; // objects: the keys seen so far, while few
  keySet: Set<string> | undefined; // objects: the keys seen so far, once many
}

/** Objects with up to this many keys check duplicates by a linear search: cheaper than a Set. */
const FEW_KEYS = 16;

/**
 * The first problem in `text` (valid JSON), or undefined. With `stopAt`, finds
 * no problems but returns the path of the value at that offset instead.
 */
function scan(text: string, maxDepth: number, stopAt = -1): string | undefined {
  const locating = stopAt >= 0;
  const stack: Level[] = [];
  const n = text.length;
  let nextBackslash = text.indexOf('\\');
  const path = (): string => formatPath(stack.map((level) => (level.isObject ? level.key : String(level.index))));
  const refuse = (message: string, offset: number, hint = ''): string => `${message} ${describePath(path())} (line ${lineColumn(text, offset)})${hint}`;
  const arrived = (end: number): boolean => locating && stopAt <= end;

  /** Index of the closing quote of the string opening at `start`, and whether it holds an escape. */
  const stringEnd = (start: number): { end: number; escaped: boolean } => {
    let from = start + 1;
    let escaped = false;
    for (;;) {
      const quote = text.indexOf('"', from);
      while (nextBackslash !== -1 && nextBackslash < from) nextBackslash = text.indexOf('\\', from);
      if (nextBackslash === -1 || nextBackslash > quote) return { end: quote, escaped };
      escaped = true;
      from = nextBackslash + 2;
    }
  };

  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x3a || c === 0x0d || c === 0x09) {
      i++; // whitespace and ':' (the most common characters of a pretty-printed file)
      continue;
    }
    if (arrived(i)) return path();
    if (c === 0x7b || c === 0x5b) {
      // { [
      if (stack.length + 1 > maxDepth && !locating) return refuse(`nesting deeper than ${maxDepth} levels`, i);
      const isObject = c === 0x7b;
      stack.push({ isObject, index: 0, key: '', awaitingKey: isObject, keys: isObject ? [] : undefined, keySet: undefined });
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      // } ]
      stack.pop();
      i++;
    } else if (c === 0x2c) {
      // ,
      const top = stack[stack.length - 1]!;
      if (top.isObject) top.awaitingKey = true;
      else top.index++;
      i++;
    } else if (c === 0x22) {
      // "
      const { end, escaped } = stringEnd(i);
      const top = stack[stack.length - 1];
      let decoded: string | undefined;
      if (escaped) {
        decoded = JSON.parse(text.slice(i, end + 1)) as string;
        if (LONE_SURROGATE.test(decoded) && !locating) {
          return refuse('a \\u escape leaves a lone surrogate (half of a UTF-16 pair), which is not text', i);
        }
      }
      if (top !== undefined && top.isObject && top.awaitingKey) {
        const key = decoded ?? text.slice(i + 1, end);
        top.awaitingKey = false;
        top.key = key;
        if (seenBefore(top, key) && !locating) return refuse(`duplicate key ${JSON.stringify(key)} (JSON.parse would keep only the last)`, i);
      }
      if (arrived(end)) return path();
      i = end + 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      // - 0-9
      let end = i + 1;
      let exponent = false;
      let point = -1;
      for (let d = c; end < n; end++) {
        d = text.charCodeAt(end);
        if (d === 0x65 || d === 0x45) exponent = true;
        else if (d === 0x2e) point = end;
        else if (!((d >= 0x30 && d <= 0x39) || d === 0x2b || d === 0x2d)) break;
      }
      // Without an exponent, at most 15 digits before the point and short enough not to underflow:
      // always a finite number well inside the safe range (the common case, checked without Number()).
      const integerDigits = (point === -1 ? end : point) - i - (c === 0x2d ? 1 : 0);
      if ((exponent || integerDigits > 15 || end - i > 300) && !locating) {
        const problem = numberTokenProblem(text.slice(i, end));
        if (problem !== undefined) return refuse(problem.message, i, problem.hint);
      }
      i = end;
    } else {
      i += c === 0x66 ? 5 : 4; // false, true, null
    }
  }
  return locating ? path() : undefined;
}

/** A surrogate outside a pair: with the u flag a pair is one code point and does not match. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** True when `key` was seen before in this object; records it otherwise. */
function seenBefore(level: Level, key: string): boolean {
  if (level.keySet !== undefined) {
    if (level.keySet.has(key)) return true;
    level.keySet.add(key);
    return false;
  }
  const keys = level.keys!;
  if (keys.includes(key)) return true;
  keys.push(key);
  if (keys.length > FEW_KEYS) level.keySet = new Set(keys);
  return false;
}

/** Why a number token cannot be read exactly (with what to do about it), or undefined. */
function numberTokenProblem(token: string): { message: string; hint: string } | undefined {
  const n = Number(token);
  const hint = '; store it as a string';
  if (!Number.isFinite(n)) return { message: `number ${token} is too large for a double (JSON.parse reads it as ${n})`, hint };
  if (Math.abs(n) > MAX_EXACT_NUMBER) return { message: `number ${token} is ${OUTSIDE_RANGE} (JSON.parse reads it as ${JSON.stringify(n)})`, hint };
  if (n === 0 && /[1-9]/.test(token.split(/[eE]/)[0]!)) return { message: `number ${token} is too small for a double (JSON.parse reads it as 0)`, hint };
  return undefined;
}

/** "line L, column C" (1-based, columns in UTF-16 units) of an offset in `text`. */
function lineColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `${line}, column ${offset - lineStart + 1}`;
}

/** Where an offset of the (replacement-decoded) text is: its path when the text still parses, and its line. */
function locate(text: string, offset: number): string {
  const line = `(line ${lineColumn(text, offset)})`;
  try {
    JSON.parse(text);
  } catch (error) {
    // Not JSON even with the bad bytes replaced: the line is all there is to name.
    if (!(error instanceof SyntaxError)) throw error;
    return line;
  }
  return `${describePath(scan(text, Number.MAX_SAFE_INTEGER, offset) ?? '')} ${line}`;
}

function describePath(path: string): string {
  return path === '' ? 'at the top level' : `at "${path}"`;
}

/** Offset of the first byte that breaks UTF-8 (the buffer is known to hold one). */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const width = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (width === 0 || !isUtf8(bytes.subarray(i, i + width))) return i;
    i += width;
  }
  return bytes.length;
}
