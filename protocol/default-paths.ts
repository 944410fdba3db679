// Where things live when nobody says (README.md, "Where files live"): the config file, the socket
// and the sidecar's state directory, derived from an app name. Pure functions
// of platform, environment, home and uid, so sidecar, client and CLI agree.
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_APP_NAME = 'config-sidecar';
export const CONFIG_ENV = 'CONFIG_SIDECAR_CONFIG';
export const SOCKET_ENV = 'CONFIG_SIDECAR_SOCKET';

/** The facts the defaults depend on; the real process's by default, so tests can vary them. */
export interface PathContext {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  home: string;
  tmpdir: string;
  uid: number | string;
  user: string;
}

export function currentPathContext(): PathContext {
  const info = safeUserInfo();
  return {
    platform: process.platform,
    env: process.env,
    home: os.homedir(),
    tmpdir: os.tmpdir(),
    uid: typeof process.getuid === 'function' ? process.getuid() : info.username,
    user: info.username,
  };
}

function safeUserInfo(): { username: string } {
  try {
    return { username: os.userInfo().username };
  } catch (error) {
    // No passwd entry (some containers): the uid still names the user uniquely.
    return { username: process.env.USER ?? process.env.USERNAME ?? `uid${process.getuid?.() ?? 'unknown'}` };
  }
}

function checkAppName(app: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(app)) {
    throw new Error(`app name ${JSON.stringify(app)} must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  return app;
}

/** The config file: explicit > $CONFIG_SIDECAR_CONFIG > the platform's config directory. */
export function defaultConfigPath(app = DEFAULT_APP_NAME, ctx = currentPathContext()): string {
  checkAppName(app);
  const fromEnv = ctx.env[CONFIG_ENV];
  if (fromEnv) return path.resolve(fromEnv);
  switch (ctx.platform) {
    case 'win32':
      return path.win32.join(ctx.env.APPDATA ?? path.win32.join(ctx.home, 'AppData', 'Roaming'), app, 'config.json');
    case 'darwin':
      return path.posix.join(ctx.home, 'Library', 'Application Support', app, 'config.json');
    default:
      return path.posix.join(absoluteOrUndefined(ctx.env.XDG_CONFIG_HOME) ?? path.posix.join(ctx.home, '.config'), app, 'config.json');
  }
}

/** The socket: explicit > $CONFIG_SIDECAR_SOCKET > per-user runtime dir (named pipe on Windows). */
export function defaultSocketPath(app = DEFAULT_APP_NAME, ctx = currentPathContext()): string {
  checkAppName(app);
  const fromEnv = ctx.env[SOCKET_ENV];
  if (fromEnv) return ctx.platform === 'win32' ? fromEnv : path.resolve(fromEnv);
  if (ctx.platform === 'win32') return `\\\\.\\pipe\\${app}-${ctx.user.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const runtime = ctx.platform === 'darwin' ? undefined : absoluteOrUndefined(ctx.env.XDG_RUNTIME_DIR);
  if (runtime) return path.posix.join(runtime, app, 'sidecar.sock');
  return path.posix.join(absoluteOrUndefined(ctx.env.TMPDIR) ?? ctx.tmpdir, `${app}-${ctx.uid}`, 'sidecar.sock');
}

/**
 * The XDG base directory spec: a relative path in an XDG variable is invalid and ignored, so the
 * socket never depends on the working directory. TMPDIR is held to the same rule.
 */
function absoluteOrUndefined(dir: string | undefined): string | undefined {
  return dir !== undefined && path.posix.isAbsolute(dir) ? dir : undefined;
}

/** The most bytes a Unix socket path may have (sun_path less its terminating NUL); none for named pipes. */
export function maxSocketPathBytes(platform: NodeJS.Platform): number | undefined {
  if (platform === 'win32') return undefined;
  return platform === 'linux' || platform === 'android' ? 107 : 103;
}

/**
 * Throws when `socketPath` is too long for the platform's sockaddr_un, naming the limit and the path:
 * the kernel would otherwise fail the bind with a misleading error (or silently truncate the name).
 */
export function checkSocketPathLength(socketPath: string, platform: NodeJS.Platform = process.platform): void {
  const max = maxSocketPathBytes(platform);
  const bytes = Buffer.byteLength(socketPath);
  if (max !== undefined && bytes > max) {
    const os = platform === 'linux' || platform === 'android' ? 'Linux' : platform === 'darwin' ? 'macOS' : platform;
    throw new Error(
      `socket path is ${bytes} bytes, over the ${max}-byte limit of Unix socket paths on ${os} (${max + 1} with the terminating NUL): ${socketPath}; choose a shorter --socket`,
    );
  }
}

/** The sidecar's own directory beside the config: `<dir>/.<name>.sidecar/`. */
export function stateDirFor(configPath: string): string {
  return path.join(path.dirname(configPath), `.${path.basename(configPath)}.sidecar`);
}
