// The project as `npm pack` makes it: the list of files it ships and, when
// asked for, the tarball itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The project's root directory (where package.json is). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export interface PackedProject {
  /** Every path the package holds, relative to its root. */
  files: string[];
  /** The tarball written into `destination`; undefined for a dry run. */
  tarball: string | undefined;
}

/** Packs the project into `destination`, or only lists what it would ship when there is none (`--dry-run`). */
export async function packProject(destination?: string): Promise<PackedProject> {
  const where = destination === undefined ? ['--dry-run'] : ['--pack-destination', destination];
  const { stdout } = await promisify(execFile)(NPM, ['pack', ...where, '--json', '--ignore-scripts'], { cwd: PROJECT_ROOT, maxBuffer: 16 << 20 });
  const [entry] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(entry, 'npm pack printed no entry');
  return { files: entry.files.map((file) => file.path), tarball: destination === undefined ? undefined : path.join(destination, entry.filename) };
}
