// Before a client command connects: a socket that does not exist means no
// sidecar, so the command fails at once instead of retrying until --timeout,
// unless --wait MS asks it to wait that long for the socket to appear (a
// sidecar being started). A socket that exists but does not answer is left to
// the client's own deadline.

// Built-ins through getBuiltinModule, not ES imports: see arguments.ts. (node:fs/promises and
// node:timers/promises would load several more of Node's modules for one stat and one wait.)
const fs = process.getBuiltinModule('node:fs');

/** How often a waited-for socket is looked for (a stat each time). */
const POLL_MS = 25;

/** Resolves when `socketPath` exists (at once, or within `waitMs`); else resolves false. */
export async function socketAppears(socketPath: string, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => fs.stat(socketPath, (error) => (error === null ? resolve() : reject(error))));
      return true;
    } catch (error) {
      // Anything but "not there" (EACCES, ENOTDIR...) is for the client to report with its own checks.
      if ((error as { code?: string }).code !== 'ENOENT') return true;
    }
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, left)));
  }
}
