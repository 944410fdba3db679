// The packed project installed the way `npm i -g --prefix P` lays it out
// (P/lib/node_modules/config-sidecar with its dependencies in its own
// node_modules, and P/bin/config-sidecar linked to the executable entry point),
// with no network: `npm i -g --offline` cannot run from the cache `npm ci`
// leaves (it holds the dependencies' tarballs, not the registry's metadata
// a fresh install resolves versions from), so the dependencies are installed
// by `npm ci --offline --omit=dev` from the project's lock, which names each
// exact tarball.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { NPM, PROJECT_ROOT } from './package-tarball.js';

const run = promisify(execFile);

export interface GlobalInstall {
  prefix: string;
  /** P/lib/node_modules/config-sidecar */
  packageDir: string;
  /** P/bin/config-sidecar, as the service units run it. */
  bin: string;
  /** The environment to run `bin` in: this test's node first on PATH, as `#!/usr/bin/env node` needs. */
  env: Record<string, string>;
}

/** Installs `tarball` (from packProject) under `prefix`. */
export async function installGlobally(tarball: string, prefix: string): Promise<GlobalInstall> {
  const packageDir = path.join(prefix, 'lib', 'node_modules', 'config-sidecar');
  await mkdir(packageDir, { recursive: true });
  await mkdir(path.join(prefix, 'bin'), { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', packageDir, '--strip-components=1']);
  const lock = path.join(packageDir, 'package-lock.json');
  await copyFile(path.join(PROJECT_ROOT, 'package-lock.json'), lock);
  await run(NPM, ['ci', '--offline', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: packageDir, maxBuffer: 16 << 20 });
  await rm(lock);
  // npm links each bin into P/bin and makes its target executable.
  const manifest = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  for (const [name, target] of Object.entries(manifest.bin)) {
    await chmod(path.join(packageDir, target), 0o755);
    await symlink(path.relative(path.join(prefix, 'bin'), path.join(packageDir, target)), path.join(prefix, 'bin', name));
  }
  const env = { PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };
  return { prefix, packageDir, bin: path.join(prefix, 'bin', 'config-sidecar'), env };
}
