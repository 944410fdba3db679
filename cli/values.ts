// VALUE as the CLI reads it: JSON when it parses as JSON, else the text itself;
// from an argument, standard input (`-`) or a file (`--file F`). A number JSON
// would round (beyond ±(2^53-1)) or turn into Infinity is refused, never stored
// changed.
import { readFile } from 'node:fs/promises';
import { UsageError } from './cli-errors.js';

/** What went wrong with a VALUE, with where, for the one-line error. */
export class ValueError extends Error {}

/**
 * Parses JSON text; throws ValueError naming the first number that would not be kept
 * exactly. `where` prefixes the path of that number ("VALUE", "FILE doc.json").
 */
export function parseExactJson(text: string, where: string): unknown {
  const reviver = function (this: unknown, key: string, value: unknown, context?: { source?: string }): unknown {
    if (typeof value === 'number' && (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))) {
      const source = context?.source ?? String(value);
      throw new ValueError(`${where}: the number ${source} at ${key === '' ? 'the top' : `key "${key}"`} is beyond ±(2^53-1) and would not be stored exactly`);
    }
    return value;
  };
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}

/** VALUE: JSON if it parses, else the literal text (`set name alice`); `asString` keeps it text. */
export function parseValue(text: string, asString: boolean, path: string): unknown {
  if (asString) return text;
  try {
    return parseExactJson(text, 'VALUE');
  } catch (error) {
    if (error instanceof ValueError) throw new UsageError(`${error.message}; to store it as text: config-sidecar set ${path} --string ${text}`, 'set');
    if (error instanceof SyntaxError) return text;
    throw error;
  }
}

/** The text of `-` (standard input) or a file, with one trailing line feed dropped (as `$(cat F)` drops it). */
export async function readValueText(source: { stdin: true } | { file: string }, command: string): Promise<string> {
  let text: string;
  if ('stdin' in source) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = await readFile(source.file, 'utf8');
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new UsageError(`cannot read ${source.file}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, command);
    }
  }
  return text.replace(/\r?\n$/, '');
}
