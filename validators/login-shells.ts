// Whether a program is a login shell, beyond being executable: it must be
// listed in /etc/shells where that file exists (the system's own list, the one
// chsh and sshd consult), and it must not be one of the programs that stand in
// for a shell to refuse logins (/bin/false, nologin), which a system without
// /etc/shells would otherwise let through. Used by `info`'s shell detection
// and by the loginShell() validator.
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';

export const SHELLS_FILE = '/etc/shells';

/** Programs that are executable but exist to refuse a login. */
const LOGIN_REFUSERS: ReadonlySet<string> = new Set(['false', 'nologin', 'true']);

/**
 * Why the executable `file` is not a login shell, or undefined if it is.
 * `shellsFile` is read each time (it changes when a shell is installed).
 */
export async function loginShellProblem(file: string, shellsFile = SHELLS_FILE): Promise<string | undefined> {
  const name = path.basename(file);
  if (LOGIN_REFUSERS.has(name)) return `${name} refuses logins; it is not a shell`;
  const listed = await listedShells(shellsFile);
  if (listed === undefined) return undefined;
  if (listed.includes(file)) return undefined;
  // /bin/bash may be listed as /usr/bin/bash (merged /usr): compare where both lead.
  const real = await realpath(file);
  for (const entry of listed) if ((await resolved(entry)) === real) return undefined;
  return `not listed in ${shellsFile}`;
}

/** The shells the file lists, or undefined when there is no such file. */
async function listedShells(shellsFile: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(shellsFile, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line.startsWith('/'));
}

async function resolved(entry: string): Promise<string | undefined> {
  try {
    return await realpath(entry);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined; // listed but not installed
    throw error;
  }
}
