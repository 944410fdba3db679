// The administrator's locks (`--locks FILE`): a JSON list of paths whose value
// comes from the layers below the user file. Read once at start; a file that
// cannot be used stops the start with a message naming it.
import { readFile } from 'node:fs/promises';
import { parseExactJson } from '../../protocol/exact-json.js';
import { parsePath } from '../../protocol/index.js';
import { StartupError } from '../file/config-file.js';

export async function readLocksFile(file: string, maxDepth: number): Promise<string[][]> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (error) {
    throw new StartupError(`--locks ${file}: cannot read it (${(error as Error).message})`);
  }
  const parsed = parseExactJson(raw, maxDepth);
  if (!parsed.ok) throw new StartupError(`--locks ${file}: not JSON (${parsed.problem})`);
  if (!Array.isArray(parsed.value)) throw new StartupError(`--locks ${file}: expected a JSON list of paths such as ["server.port"]`);
  return parsed.value.map((entry, index) => {
    if (typeof entry !== 'string' || entry === '') throw new StartupError(`--locks ${file}: entry ${index} is not a non-empty path string`);
    try {
      return parsePath(entry);
    } catch (error) {
      throw new StartupError(`--locks ${file}: entry ${index} (${JSON.stringify(entry)}): ${(error as Error).message}`);
    }
  });
}
