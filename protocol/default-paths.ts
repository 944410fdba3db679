// Where things live when nobody says (DESIGN §3): the config file, the socket
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
      return path.posix.join(ctx.env.XDG_CONFIG_HOME || path.posix.join(ctx.home, '.config'), app, 'config.json');
  }
}

/** The socket: explicit > $CONFIG_SIDECAR_SOCKET > per-user runtime dir (named pipe on Windows). */
export function defaultSocketPath(app = DEFAULT_APP_NAME, ctx = currentPathContext()): string {
  checkAppName(app);
  const fromEnv = ctx.env[SOCKET_ENV];
  if (fromEnv) return ctx.platform === 'win32' ? fromEnv : path.resolve(fromEnv);
  if (ctx.platform === 'win32') return `\\\\.\\pipe\\${app}-${ctx.user.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const runtime = ctx.platform === 'darwin' ? undefined : ctx.env.XDG_RUNTIME_DIR;
  if (runtime) return path.posix.join(runtime, app, 'sidecar.sock');
  return path.posix.join(ctx.env.TMPDIR || ctx.tmpdir, `${app}-${ctx.uid}`, 'sidecar.sock');
}

/** The sidecar's own directory beside the config: `<dir>/.<name>.sidecar/`. */
export function stateDirFor(configPath: string): string {
  return path.join(path.dirname(configPath), `.${path.basename(configPath)}.sidecar`);
}
