// Values that name things on disk. A config that points at a directory or a
// program is checked against the machine it runs on, when it is written
// (docs/defects.md, D16: "/dev/null" as a shell, "../../etc" as an allowed
// directory were accepted). Checks are asynchronous: schemas using these
// are parsed with parseAsync, as the sidecar and the client do. What the
// disk says is a disk check (disk-checks.ts): the sidecar holds it against
// values being written, not against values already in the config. A JSON
// Schema cannot say what the disk holds: these validators carry a
// description for editors instead, and "absolute" as a pattern where it can.
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { diskCheckFailed } from './disk-checks.js';
import { loginShellProblem, SHELLS_FILE } from './login-shells.js';

/**
 * An absolute path to an existing, readable directory. The value readers see
 * is its canonical form (symlinks resolved, `..` removed), so a check like
 * "is this file inside an allowed directory" compares like with like.
 */
export function existingDirectory() {
  return absolutePath()
    .transform(async (value, ctx) => {
      let problem: string;
      try {
        const canonical = await realpath(value);
        if ((await stat(canonical)).isDirectory()) {
          await access(canonical, constants.R_OK);
          return canonical;
        }
        problem = `"${value}" is not a directory`;
      } catch (error) {
        problem = `"${value}" is not a usable directory: ${reason(error)}`;
      }
      // Tolerated: the value stays as written (it cannot be made canonical).
      return diskCheckFailed(ctx, value, problem) ? value : z.NEVER;
    })
    .meta({ description: 'an absolute path to an existing, readable directory (checked when written; read back with symlinks resolved)' });
}

/**
 * An absolute path to a regular file this process may execute (a shell, a
 * tool). On Windows, where there is no execute bit, the file must exist and
 * have an extension listed in PATHEXT.
 */
export function executableFile() {
  return absolutePath()
    .superRefine(async (value, ctx) => {
      try {
        if (!(await stat(value)).isFile()) {
          diskCheckFailed(ctx, value, `"${value}" is not a regular file`);
          return;
        }
        if (process.platform === 'win32') {
          const extensions = (process.env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').toUpperCase().split(';');
          if (!extensions.includes(path.extname(value).toUpperCase())) diskCheckFailed(ctx, value, `"${value}" is not a program (PATHEXT)`);
          return;
        }
        await access(value, constants.X_OK);
      } catch (error) {
        diskCheckFailed(ctx, value, `"${value}" is not an executable file: ${reason(error)}`);
      }
    })
    .meta({ description: 'an absolute path to an executable regular file (checked when written)' });
}

/**
 * A shell setting: an executableFile() that is also a login shell — listed in
 * /etc/shells where it exists, and not /bin/false or nologin (login-shells.ts).
 */
export function loginShell() {
  // A pipe: the login-shell check runs only on a value executableFile() accepted.
  return executableFile()
    .pipe(
      z.string().superRefine(async (value, ctx) => {
        if (process.platform === 'win32') return;
        try {
          const problem = await loginShellProblem(value);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `"${value}" is not a login shell: ${problem}`, input: value });
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `"${value}" could not be checked as a login shell: ${reason(error)}`, input: value });
        }
      }),
    )
    .meta({ description: `an absolute path to a login shell: executable, listed in ${SHELLS_FILE} where it exists, not false or nologin (checked when written)` });
}

/**
 * A string that is an absolute path. On POSIX that is exactly "starts with
 * /", a pattern the JSON Schema carries; Windows' forms (C:\, \\server\)
 * are left to path.isAbsolute in a refinement. The checks after it do not
 * run on a relative path.
 */
function absolutePath() {
  const error = (issue: { input?: unknown }) => `"${String(issue.input)}" is not an absolute path`;
  if (process.platform !== 'win32') return z.string().regex(/^\//, { error, abort: true });
  return z.string().refine((value) => path.isAbsolute(value), { error, abort: true });
}

function reason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'it does not exist';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'ENOTDIR') return 'a part of it is not a directory';
  return error instanceof Error ? error.message : String(error);
}
