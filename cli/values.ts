// VALUE as the CLI reads it: JSON when it parses as JSON, else the text itself;
// from an argument, standard input (`-`) or a file (`--file F`). JSON that
// would not be read exactly (a number beyond ±(2^53-1), a duplicate key,
// invalid UTF-8: protocol/exact-json.ts) is refused, never stored changed.
import { parseExactJson } from '../protocol/exact-json.js';
import { UsageError } from './cli-errors.js';

// Built-ins through getBuiltinModule, not ES imports: see arguments.ts. fs.promises loads only
// when a value is read from a file.
const fs = process.getBuiltinModule('node:fs');

/** Nesting is the sidecar's to judge (its maxDepth limit); here only exactness. */
const ANY_DEPTH = Number.MAX_SAFE_INTEGER;

/** VALUE: JSON if it parses, else the literal text (`set name alice`); `asString` keeps it text. */
export function parseValue(text: string, asString: boolean, path: string): unknown {
  if (asString) return text;
  const read = parseExactJson(text, ANY_DEPTH);
  if (read.ok) return read.value;
  if (read.syntax) return text;
  throw new UsageError(`cannot set ${path}: VALUE ${read.problem}. To store the text as it is: set ${path} --string ${text}`, 'set');
}

/** A whole document (`load`): exact JSON or a UsageError naming where it came from. */
export function parseDocument(source: Uint8Array, where: string): unknown {
  const read = parseExactJson(source, ANY_DEPTH);
  if (read.ok) return read.value;
  throw new UsageError(`${where}: ${read.problem}`, 'load');
}

/** The bytes of `-` (standard input) or a file; a file that cannot be read is a UsageError naming it. */
export async function readInput(source: string, command: string): Promise<Buffer> {
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await fs.promises.readFile(source);
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(`cannot read ${source}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, command);
  }
}

/** VALUE read from stdin or a file, with one trailing line feed dropped (as `$(cat F)` drops it). */
export async function readValueText(source: string): Promise<string> {
  return (await readInput(source, 'set')).toString('utf8').replace(/\r?\n$/, '');
}
