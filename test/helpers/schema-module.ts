// Schema modules written by tests into their temp dir. They import zod and
// the validators by absolute URL, so they load from anywhere.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

const ZOD = import.meta.resolve('zod');
const VALIDATORS = new URL('../../validators/index.js', import.meta.url).href;

/** Writes `<dir>/<name>.mjs` with `z` and `v` (the validators) in scope before `body`; returns its path. */
export async function writeSchemaModule(dir: string, name: string, body: string): Promise<string> {
  const file = path.join(dir, `${name}.mjs`);
  await writeFile(file, `import { z } from ${JSON.stringify(ZOD)};\nimport * as v from ${JSON.stringify(VALIDATORS)};\n${body}\n`);
  return file;
}
