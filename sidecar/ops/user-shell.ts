// The user's shell, found when asked (docs/defects.md, D22, D16: a shell fixed
// at build time, never checked). Candidates in order: $SHELL, the passwd
// entry, %COMSPEC% on Windows, then /bin/sh; each must exist, be a file, be
// executable and (not on Windows) be a login shell — listed in /etc/shells,
// not /bin/false or nologin — and a rejected one is reported with the reason.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import { loginShellProblem } from '../../validators/login-shells.js';

export interface ShellCandidate {
  path: string;
  source: 'SHELL' | 'passwd' | 'COMSPEC' | 'fallback';
}

export interface ShellResult {
  /** The first usable candidate, or null if none is. */
  shell: (ShellCandidate & { path: string }) | null;
  /** Candidates passed over, and why. */
  rejected: (ShellCandidate & { reason: string })[];
}

export function shellCandidates(env: NodeJS.ProcessEnv = process.env, platform = process.platform): ShellCandidate[] {
  const candidates: ShellCandidate[] = [];
  if (env.SHELL) candidates.push({ path: env.SHELL, source: 'SHELL' });
  const passwdShell = passwdEntryShell();
  if (passwdShell) candidates.push({ path: passwdShell, source: 'passwd' });
  if (platform === 'win32') {
    if (env.COMSPEC) candidates.push({ path: env.COMSPEC, source: 'COMSPEC' });
    candidates.push({ path: 'C:\\Windows\\System32\\cmd.exe', source: 'fallback' });
  } else {
    candidates.push({ path: '/bin/sh', source: 'fallback' });
  }
  return candidates;
}

function passwdEntryShell(): string | null {
  try {
    return os.userInfo().shell;
  } catch (error) {
    return null; // no passwd entry for this uid (some containers): the other candidates remain
  }
}

/** Why `path` cannot be used as a shell, or undefined if it can. */
export async function shellProblem(path: string, platform = process.platform): Promise<string | undefined> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return 'not a regular file';
    if (platform === 'win32') return undefined;
    await access(path, constants.X_OK);
    return await loginShellProblem(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'EACCES') return 'not executable';
    return (error as Error).message;
  }
}

export async function detectShell(candidates = shellCandidates()): Promise<ShellResult> {
  const rejected: ShellResult['rejected'] = [];
  for (const candidate of candidates) {
    const problem = await shellProblem(candidate.path);
    if (problem === undefined) return { shell: candidate, rejected };
    rejected.push({ ...candidate, reason: problem });
  }
  return { shell: null, rejected };
}
