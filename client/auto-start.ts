// connect({autoStart}): when nothing answers on the socket, start a sidecar
// for it as a detached process and let the client's reconnect loop find it.
// Many clients may find the socket silent at the same instant. A claim file
// in the state directory lets one of them start the sidecar while the others
// wait for it (twenty clients at login must not start twenty Node processes);
// the claim is only advice: the sidecar's ownership lock is what guarantees
// one sidecar, so a claim left by a client that died simply expires. A client
// starts at most one sidecar per `retryAfterMs`, so a sidecar that cannot
// start is not spawned in a loop.
import { spawn } from 'node:child_process';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfigPath, stateDirFor } from '../protocol/default-paths.js';
import type { StatusEvent } from './reconnect.js';

export interface AutoStartOptions {
  /** The config file the started sidecar serves; default: what `serve` would pick for `app` ($CONFIG_SIDECAR_CONFIG, else the platform default). */
  configPath?: string;
  /** A schema module or JSON Schema file, passed as `serve --schema`. */
  schemaPath?: string;
  /** The started sidecar's stderr log, appended to; default `<state dir>/autostart.log`; null discards it. */
  logFile?: string | null;
  /** A log this large is renamed to `<logFile>.1` (replacing the older one) before the next start (bytes, default 1 MiB). */
  logMaxBytes?: number;
  /** More `serve` arguments (`--log-level`, `--limit NAME=VALUE`, ...). */
  serveArgs?: string[];
  /** Start another sidecar only if the socket is still silent this long after the last start, by any client (ms, default 10 000). */
  retryAfterMs?: number;
}

const DEFAULT_RETRY_AFTER_MS = 10_000;
const DEFAULT_LOG_MAX_BYTES = 1024 * 1024;
const PROBE_TIMEOUT_MS = 1000;
/** The CLI beside this library in the package (dist/client → dist/cli); client/ never imports it, it only runs it. */
const CLI_PATH = fileURLToPath(new URL('../cli/main.js', import.meta.url));
/**
 * Variables that tie a process to its systemd service: a sidecar started by a
 * client inside a Type=notify service must not report itself as that service's
 * main process, nor take its socket activation or watchdog.
 */
const SERVICE_MANAGER_ENV = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'];

/** What the auto-starter needs from a client: its connection status events. */
export interface StatusSource {
  on(event: 'status', listener: (event: StatusEvent) => void): unknown;
  off(event: 'status', listener: (event: StatusEvent) => void): unknown;
}

/**
 * Watches `client`: each time a dial fails (a `reconnecting` event) and
 * nothing accepts connections on `socketPath`, starts a detached sidecar for
 * it unless another client claimed that job less than `retryAfterMs` ago.
 * Stops when the client closes. `earlier`: status events the client emitted before this was called.
 */
export function startOnDemand(client: StatusSource, socketPath: string, app: string | undefined, options: AutoStartOptions = {}, earlier: readonly StatusEvent[] = []): void {
  const retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
  const configPath = path.resolve(options.configPath ?? defaultConfigPath(app));
  const claimPath = path.join(stateDirFor(configPath), 'autostart.claim');
  let busy = false;
  let closed = false;
  const onStatus = (event: StatusEvent) => {
    if (event.type === 'closed') {
      closed = true;
      client.off('status', onStatus);
      return;
    }
    if (event.type !== 'reconnecting' || busy) return;
    busy = true;
    nothingAnswers(socketPath)
      .then(async (silent) => {
        if (!silent || closed || !(await claimStart(claimPath, retryAfterMs))) return;
        await startSidecar(socketPath, configPath, claimPath, options);
      })
      .catch((error: unknown) => warn(`could not start a sidecar for ${socketPath}: ${(error as Error).message}`))
      .finally(() => {
        busy = false;
      });
  };
  client.on('status', onStatus);
  // Status seen while this module was loading (the client loads it only when asked to auto-start).
  for (const event of earlier) onStatus(event);
}

/**
 * Claims the start of the sidecar: creates the claim file exclusively, or
 * replaces one older than `retryAfterMs`. False when another start is under
 * way (a fresh claim exists), so this client just waits for that sidecar.
 */
async function claimStart(claimPath: string, retryAfterMs: number): Promise<boolean> {
  await mkdir(path.dirname(claimPath), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(claimPath, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`).finally(() => handle.close());
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let ageMs: number;
    try {
      ageMs = Date.now() - (await stat(claimPath)).mtimeMs;
    } catch (error) {
      // Removed in between by a client that found it stale: that client starts the sidecar.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    if (ageMs < retryAfterMs) return false;
    await removeClaim(claimPath);
  }
  // Another client replaced the stale claim first.
  return false;
}

async function removeClaim(claimPath: string): Promise<void> {
  try {
    await unlink(claimPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** True when connecting to `socketPath` is refused or finds no socket: nobody serves it. Anything else counts as served. */
export function nothingAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: socketPath });
    const finish = (silent: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(silent);
    };
    // A peer that neither accepts nor refuses in time may be a sidecar under load: never start a rival then.
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    socket.once('connect', () => finish(false));
    socket.once('error', (error: NodeJS.ErrnoException) => finish(error.code === 'ENOENT' || error.code === 'ECONNREFUSED'));
  });
}

/** Spawns `config-sidecar serve` for the socket, detached from this process, with its output appended to the log file. */
async function startSidecar(socketPath: string, configPath: string, claimPath: string, options: AutoStartOptions): Promise<void> {
  const args = [CLI_PATH, 'serve', '--config', configPath, '--socket', socketPath];
  if (options.schemaPath !== undefined) args.push('--schema', path.resolve(options.schemaPath));
  args.push(...(options.serveArgs ?? []));
  const logFile = options.logFile === undefined ? path.join(stateDirFor(configPath), 'autostart.log') : options.logFile;
  let log: FileHandle | undefined;
  if (logFile !== null) {
    await mkdir(path.dirname(logFile), { recursive: true, mode: 0o700 });
    await rotateLog(logFile, options.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES);
    log = await open(logFile, 'a', 0o600);
  }
  const env = { ...process.env };
  for (const name of SERVICE_MANAGER_ENV) delete env[name];
  try {
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', log?.fd ?? 'ignore', log?.fd ?? 'ignore'],
      // Not the caller's directory: the sidecar outlives it and must not keep it busy.
      cwd: path.parse(configPath).root,
      env,
      windowsHide: true,
    });
    child.once('error', (error) => warn(`could not start a sidecar for ${socketPath}: ${error.message}`));
    child.once('exit', (code, signal) => {
      if (code === 0) return;
      // Losing a start race exits non-zero too; that is only worth a word if nobody serves the socket either.
      void nothingAnswers(socketPath).then(async (silent) => {
        if (!silent) return;
        warn(`the sidecar started for ${socketPath} exited (${code ?? signal})${logFile === null ? '' : `; see ${logFile}`}`);
        // Free the claim at once: a fixed config need not wait for it to expire.
        await removeClaim(claimPath).catch((error: unknown) => warn(`could not remove ${claimPath}: ${(error as Error).message}`));
      });
    });
    child.unref();
  } finally {
    await log?.close();
  }
}

/**
 * Keeps the log and one older generation: every start appends to it, so a
 * sidecar that fails to start at every login would otherwise grow it forever.
 * A running sidecar writes to the file it was given; its own output is small
 * (warnings and start/stop lines at the default level).
 */
async function rotateLog(logFile: string, maxBytes: number): Promise<void> {
  try {
    if ((await stat(logFile)).size < maxBytes) return;
    await rename(logFile, `${logFile}.1`);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return; // no log yet, or another client rotated it first
    warn(`could not rotate ${logFile}: ${(error as Error).message}`);
  }
}

function warn(message: string): void {
  process.emitWarning(message, { code: 'CONFIG_SIDECAR_AUTOSTART' });
}
