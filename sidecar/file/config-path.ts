// The file a config path names, symbolic links followed: ownership (the lock,
// the state directory, the generation fence) and every write are on it, so
// two names for one file get one owner, and a dotfiles-style link stays a
// link while its target is replaced in the target's directory.
import { readlink, realpath } from 'node:fs/promises';
import path from 'node:path';

/** As many links as the kernel follows (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/** The absolute path of the file `given` names, links resolved; a file not there yet keeps its name in its resolved directory. */
export async function resolveConfigPath(given: string): Promise<string> {
  let current = path.resolve(given);
  for (let hops = 0; ; hops++) {
    if (hops > MAX_LINKS) throw new Error(`${given}: more than ${MAX_LINKS} symbolic links in a row (a loop?)`);
    let target: string;
    try {
      target = await readlink(current);
    } catch (error) {
      const code = (error as { code?: string }).code;
      // EINVAL: not a link; ENOENT: nothing there yet (a new config).
      if (code === 'EINVAL' || code === 'ENOENT') break;
      throw error;
    }
    current = path.resolve(path.dirname(current), target);
  }
  try {
    return path.join(await realpath(path.dirname(current)), path.basename(current));
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return current; // made at start
    throw error;
  }
}
