// Node's on-disk compile cache for the CLI's own modules and its
// dependencies: a later run skips compiling them. Kept per user in the user's
// cache directory, never a shared directory another user could fill.
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** Turns the cache on; a cache that cannot be used (no home, read-only) only costs the speed-up. */
export function enableCompileCache(): void {
  // NODE_COMPILE_CACHE (Node's own switch) wins, and NODE_DISABLE_COMPILE_CACHE turns it off inside Node.
  if (process.env.NODE_COMPILE_CACHE !== undefined || typeof module.enableCompileCache !== 'function') return;
  try {
    // os.homedir() throws when the user has neither $HOME nor a passwd entry.
    const dir = cacheDir();
    if (dir !== undefined) module.enableCompileCache(dir);
  } catch (error) {
    // Only the speed-up is lost; say so where it can be seen when asked for.
    if (process.env.NODE_DEBUG?.includes('config-sidecar')) process.stderr.write(`config-sidecar: compile cache off: ${(error as Error).message}\n`);
  }
}

function cacheDir(): string | undefined {
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'config-sidecar', 'compile-cache');
  if (process.platform === 'win32') return path.join(process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'config-sidecar', 'compile-cache');
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : home === '' ? undefined : path.join(home, '.cache');
  return base === undefined ? undefined : path.join(base, 'config-sidecar', 'compile-cache');
}
