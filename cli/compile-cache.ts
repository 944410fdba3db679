// Node's on-disk compile cache for the CLI's own modules and its
// dependencies: a later run skips compiling them. Kept per user in the user's
// cache directory, never a shared directory another user could fill.

// Built-ins through getBuiltinModule, not ES imports: see arguments.ts.
const { mkdirSync } = process.getBuiltinModule('node:fs');
const module = process.getBuiltinModule('node:module');
const os = process.getBuiltinModule('node:os');
const path = process.getBuiltinModule('node:path');

/** Turns the cache on; a cache that cannot be used (no home, read-only) only costs the speed-up. */
export function enableCompileCache(): void {
  // NODE_COMPILE_CACHE (Node's own switch) wins, and NODE_DISABLE_COMPILE_CACHE turns it off inside Node.
  if (process.env.NODE_COMPILE_CACHE !== undefined || typeof module.enableCompileCache !== 'function') return;
  try {
    // os.homedir() throws when the user has neither $HOME nor a passwd entry.
    const dir = cacheDir();
    if (dir !== undefined && makeDirs(dir.base, dir.below)) module.enableCompileCache(path.join(dir.base, ...dir.below));
  } catch (error) {
    // Only the speed-up is lost; say so where it can be seen when asked for.
    if (process.env.NODE_DEBUG?.includes('config-sidecar')) process.stderr.write(`config-sidecar: compile cache off: ${(error as Error).message}\n`);
  }
}

/** The cache directory as a base that must exist already and the levels below it. */
function cacheDir(): { base: string; below: string[] } | undefined {
  const home = os.homedir();
  if (process.platform === 'darwin') return { base: home, below: ['Library', 'Caches', 'config-sidecar', 'compile-cache'] };
  if (process.platform === 'win32') return { base: process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), below: ['config-sidecar', 'compile-cache'] };
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg !== undefined && path.isAbsolute(xdg)) return { base: xdg, below: ['config-sidecar', 'compile-cache'] };
  return home === '' ? undefined : { base: home, below: ['.cache', 'config-sidecar', 'compile-cache'] };
}

/**
 * Creates the levels below `base` one at a time (mode 0700). Never a recursive mkdir, here or in
 * Node: on some paths (a home under /proc) Node's recursive mkdir never returns, and a missing
 * home must not be created. True when the directory is there.
 */
function makeDirs(base: string, below: string[]): boolean {
  let dir = base;
  for (const name of below) {
    dir = path.join(dir, name);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') return false;
    }
  }
  return true;
}
