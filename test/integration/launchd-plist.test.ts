// The macOS LaunchAgent: a well-formed XML property list (read by python3's
// plistlib, which refuses malformed ones) with the keys launchd needs, and a
// start command that really appends the sidecar's stderr to its log file and
// execs `config-sidecar serve`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testPaths } from '../helpers/temp-dir.js';

const PLIST = fileURLToPath(new URL('../../../launchd/config-sidecar.plist', import.meta.url));

interface LaunchAgent {
  Label: string;
  ProgramArguments: string[];
  RunAtLoad: boolean;
  KeepAlive: boolean | { SuccessfulExit?: boolean };
  EnvironmentVariables?: Record<string, string>;
}

function exec(command: string, args: string[], env?: Record<string, string>): Promise<{ stdout: string; stderr: string; pid: number | undefined }> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { env, timeout: 30_000 }, (error, stdout, stderr) =>
      error === null ? resolve({ stdout, stderr, pid: child.pid }) : reject(Object.assign(error, { stderr })),
    );
  });
}

/** The plist as python3's plistlib reads it, or a skip when python3 is missing. */
async function loadPlist(t: TestContext): Promise<LaunchAgent | undefined> {
  const script = 'import json, plistlib, sys\nwith open(sys.argv[1], "rb") as f:\n    print(json.dumps(plistlib.load(f, fmt=plistlib.FMT_XML)))';
  try {
    return JSON.parse((await exec('python3', ['-c', script, PLIST])).stdout) as LaunchAgent;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      t.skip('python3 is needed to parse the plist');
      return undefined;
    }
    throw error;
  }
}

test('the LaunchAgent plist parses as an XML plist with Label, ProgramArguments, RunAtLoad and KeepAlive on failure', async (t) => {
  const plist = await loadPlist(t);
  if (plist === undefined) return;
  assert.equal(plist.Label, 'config-sidecar');
  assert.equal(plist.RunAtLoad, true);
  assert.deepEqual(plist.KeepAlive, { SuccessfulExit: false }, 'restarted after a failure, not after a clean stop');
  assert.ok(Array.isArray(plist.ProgramArguments) && plist.ProgramArguments.every((arg) => typeof arg === 'string'));
  assert.ok(path.isAbsolute(plist.ProgramArguments[0]!), 'launchd does not search PATH for the program');
  assert.match(plist.EnvironmentVariables?.PATH ?? '', /\/usr\/local\/bin/);
});

test("the agent's command logs to ~/Library/Logs/config-sidecar.log and execs `config-sidecar serve`", async (t) => {
  const plist = await loadPlist(t);
  if (plist === undefined) return;
  const [shell, flag, command] = plist.ProgramArguments as [string, string, string];
  assert.deepEqual([shell, flag], ['/bin/sh', '-c']);
  const { dir } = await testPaths(t);
  // A stand-in config-sidecar on PATH that reports how it was started, on stderr.
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  await writeFile(path.join(bin, 'config-sidecar'), '#!/bin/sh\necho "started: $* pid $$" >&2\n');
  await chmod(path.join(bin, 'config-sidecar'), 0o755);
  const home = path.join(dir, 'home');
  await mkdir(home);
  const { pid } = await exec(shell, [flag, command], { HOME: home, PATH: `${bin}:/usr/bin:/bin` });
  const log = await readFile(path.join(home, 'Library', 'Logs', 'config-sidecar.log'), 'utf8');
  // Same pid as the shell launchd started: exec'd, so launchd's KeepAlive and SIGTERM reach the sidecar itself.
  assert.match(log, new RegExp(`^started: serve pid ${pid}$`, 'm'));
});
