// get / set / unset / list / dump / load / health / info / stats / log-level / backups / restore:
// the command line checked and read first (a usage error never connects),
// then one call each through the client library.
import { connect, ConfigSidecarError, ErrorCode, type AutoStartOptions, type BatchOp, type ConfigClient } from '../client/index.js';
import { UsageError, reportError } from './cli-errors.js';
import { LOG_LEVEL_NAMES } from './commands.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { socketAppears } from './socket-presence.js';

/** The value reader (and its exact JSON parser), loaded only by the commands that read a value. */
const loadValues = () => import('./values.js');

export interface ClientArgs {
  /** The socket, resolved from --socket, --app or the environment. */
  socketPath: string;
  /** --app: also names the config an auto-started sidecar serves when --config is not given. */
  app?: string;
  timeoutMs: number;
  /** How long to wait for a socket that does not exist yet (--wait); none: fail at once. */
  waitMs?: number;
  json: boolean;
  /** Start a sidecar on these paths when none answers. */
  autoStart: boolean;
  /** The config file an auto-started sidecar serves (--config). */
  config?: string;
  /** Who must own the socket (--expect-owner; default this user). */
  expectOwner?: string;
}

/** The options of one client command, as the entry point parsed them. */
export type CommandFlags = Partial<Record<string, string | boolean | string[]>>;

type Output = { stdout: string; exit: number };
/** A command with its arguments checked and its input read: it only has to talk to the sidecar. */
type Prepared = (client: ConfigClient) => Promise<Output>;

/** `--auto-start` (with `--config` when given) as connect() takes it. */
export function autoStartOption(args: ClientArgs): AutoStartOptions | false {
  if (!args.autoStart) return false;
  return args.config === undefined ? {} : { configPath: args.config };
}

export function connectFor(command: string, args: ClientArgs): ConfigClient {
  return connect({
    socketPath: args.socketPath,
    app: args.app,
    name: `config-sidecar ${command}`,
    defaultTimeoutMs: args.timeoutMs,
    autoStart: autoStartOption(args),
    ...(args.expectOwner === undefined ? {} : { expectedOwner: args.expectOwner }),
  });
}

/** A failure from the client library or the sidecar, reported; its exit code. */
export function reportCallError(error: unknown, json: boolean): number {
  if (error instanceof ConfigSidecarError) {
    reportError(error, json);
    return exitCodeFor(error.code);
  }
  // A path refused before anything was sent (the client checks paths as the sidecar would).
  if (error instanceof Error && error.name === 'ProtocolError') {
    reportError(error as Error & { code: string }, json);
    return ExitCode.REJECTED;
  }
  throw error;
}

/**
 * No socket, no sidecar: says so and returns the exit code now rather than after --timeout, unless
 * asked to wait for one (--wait) or to start one (--auto-start). undefined: go ahead and connect.
 */
export async function checkSocketExists(args: ClientArgs): Promise<number | undefined> {
  if (args.autoStart || process.platform === 'win32') return undefined;
  if (await socketAppears(args.socketPath, args.waitMs ?? 0)) return undefined;
  reportError(
    {
      code: 'UNAVAILABLE',
      message: `${args.socketPath}: no such socket${args.waitMs === undefined ? '' : ` after waiting ${args.waitMs} ms`}: no sidecar is running there`,
      hint: args.waitMs === undefined ? 'start one (config-sidecar serve), pass --auto-start, or --wait MS for one being started' : undefined,
    },
    args.json,
  );
  return ExitCode.UNREACHABLE;
}

export async function runClientCommand(command: string, positionals: string[], flags: CommandFlags, args: ClientArgs): Promise<number> {
  const run = await prepare(command, positionals, flags, args.json);
  const absent = await checkSocketExists(args);
  if (absent !== undefined) return absent;
  const client = connectFor(command, args);
  try {
    const output = await run(client);
    if (output.stdout !== '') process.stdout.write(output.stdout + '\n');
    return output.exit;
  } catch (error) {
    return reportCallError(error, args.json);
  } finally {
    client.close();
  }
}

/** Checks a command's arguments and reads its input (stdin, a file); throws UsageError. */
async function prepare(command: string, positionals: string[], flags: CommandFlags, json: boolean): Promise<Prepared> {
  switch (command) {
    case 'get': {
      const path = positionals[0] ?? '';
      const fallback = typeof flags.default === 'string' ? { value: (await loadValues()).parseValue(flags.default, false, path) } : undefined;
      return async (client) => {
        try {
          // getEntry, not get: a missing path is NOT_FOUND (exit 1), which scripts test for.
          return { stdout: formatValue((await client.getEntry(path)).value, json), exit: ExitCode.OK };
        } catch (error) {
          if (fallback !== undefined && error instanceof ConfigSidecarError && error.code === ErrorCode.NOT_FOUND) {
            return { stdout: formatValue(fallback.value, json), exit: ExitCode.OK };
          }
          throw error;
        }
      };
    }
    case 'dump':
      if (flags.layers === true) return async (client) => ({ stdout: JSON.stringify((await client.info()).layers ?? null, null, json ? undefined : 2), exit: ExitCode.OK });
      return async (client) => ({ stdout: JSON.stringify((await client.getEntry('')).value, null, json ? undefined : 2), exit: ExitCode.OK });
    case 'set': {
      const [path, given] = positionals as [string, string | undefined];
      const file = flags.file as string | undefined;
      if (file !== undefined && given !== undefined) throw new UsageError('give VALUE or --file F, not both', 'set');
      if (file === undefined && given === undefined) throw new UsageError('set takes PATH VALUE (VALUE - reads standard input; or --file F)', 'set');
      const { parseValue, readValueText } = await loadValues();
      const text = file !== undefined ? await readValueText(file) : given === '-' ? await readValueText('-') : given!;
      const value = parseValue(text, flags.string === true, path);
      const ifModRevision = revisionFlag(flags['if-mod-revision'], '--if-mod-revision', 'set');
      const waitForFile = waitFileFlag(flags, 'set');
      return async (client) => {
        const result = await client.set(path, value, { ifModRevision, waitForFile });
        return { stdout: json ? JSON.stringify({ epoch: result.epoch, revision: result.revision }) : '', exit: ExitCode.OK };
      };
    }
    case 'unset': {
      if (positionals[0] === undefined && flags.all !== true) throw new UsageError('unset takes PATH (or --all for the whole document)', 'unset');
      const path = positionals[0] ?? '';
      if (path === '' && flags.all !== true) throw new UsageError("unset '' removes the whole document: add --all to mean it", 'unset');
      if (path !== '' && flags.all === true) throw new UsageError(`--all removes the whole document and takes no PATH (got ${path})`, 'unset');
      const ifModRevision = revisionFlag(flags['if-mod-revision'], '--if-mod-revision', 'unset');
      const waitForFile = waitFileFlag(flags, 'unset');
      return async (client) => {
        const result = await client.delete(path, { ifModRevision, waitForFile });
        return { stdout: json ? JSON.stringify({ epoch: result.epoch, revision: result.revision, existed: result.results[0]?.existed }) : '', exit: ExitCode.OK };
      };
    }
    case 'list': {
      const path = positionals[0] ?? '';
      return async (client) => {
        const { value } = await client.getEntry(path);
        if (value === null || typeof value !== 'object') {
          throw new ConfigSidecarError(ErrorCode.BAD_REQUEST, `${path === '' ? 'the document' : path} is ${value === null ? 'null' : `a ${typeof value}`}, not an object or array: nothing to list`);
        }
        const keys = Array.isArray(value) ? value.map((_, index) => String(index)) : Object.keys(value);
        return { stdout: json ? JSON.stringify(keys) : keys.join('\n'), exit: ExitCode.OK };
      };
    }
    case 'load': {
      const source = positionals[0]!;
      const where = source === '-' ? 'standard input' : source;
      const { parseDocument, readInput } = await loadValues();
      const doc = parseDocument(await readInput(source, 'load'), where);
      if (!isObject(doc)) throw new UsageError(`${where} holds ${Array.isArray(doc) ? 'an array' : doc === null ? 'null' : `a ${typeof doc}`}: the document is a JSON object`, 'load');
      const merge = flags.merge === true;
      const waitForFile = waitFileFlag(flags, 'load');
      return async (client) => {
        const ops = merge ? mergeOps(doc, []) : [{ op: 'set' as const, path: '' as const, value: doc }];
        // Nothing to merge: no revision, but the answer still says where the store is.
        const result = ops.length === 0 ? await client.ping() : await client.batch(ops as BatchOp<Record<string, unknown>>[], { waitForFile });
        return { stdout: json ? JSON.stringify({ epoch: result.epoch, revision: result.revision }) : '', exit: ExitCode.OK };
      };
    }
    case 'health':
      return async (client) => {
        const health = await client.health({ ack: flags.ack === true });
        return { stdout: JSON.stringify(health, null, 2), exit: health.status === 'ok' ? ExitCode.OK : ExitCode.REJECTED };
      };
    case 'info':
      return async (client) => ({ stdout: JSON.stringify(await client.info(), null, 2), exit: ExitCode.OK });
    case 'fleet': {
      if (positionals[0] !== 'status') throw new UsageError(`fleet takes "status", got ${JSON.stringify(positionals[0])}`, 'fleet');
      return async (client) => {
        const fleet = (await client.info()).fleet as { connected?: boolean } | undefined;
        if (fleet === undefined) {
          reportError({ code: 'NO_FLEET', message: 'this sidecar serves no fleet layer (it was started without --fleet)' }, json);
          return { stdout: '', exit: ExitCode.REJECTED };
        }
        return { stdout: JSON.stringify(fleet, null, 2), exit: fleet.connected === true ? ExitCode.OK : ExitCode.REJECTED };
      };
    }
    case 'log-level': {
      const level = positionals[0];
      if (level !== undefined && !LOG_LEVEL_NAMES.includes(level)) throw new UsageError(`the level is one of ${LOG_LEVEL_NAMES.join(', ')}, got ${JSON.stringify(level)}`, 'log-level');
      return async (client) => {
        const result = await client.logLevel(level as Parameters<ConfigClient['logLevel']>[0]);
        return { stdout: json ? JSON.stringify(result) : result.level, exit: ExitCode.OK };
      };
    }
    case 'backups':
      return async (client) => ({ stdout: JSON.stringify(await client.backups(), null, 2), exit: ExitCode.OK });
    case 'restore': {
      const n = /^[0-9]+$/.test(positionals[0]!) ? Number(positionals[0]) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`restore takes a backup number (1 = newest, as backups lists them), got ${JSON.stringify(positionals[0])}`, 'restore');
      return async (client) => {
        // The sidecar reads the backup from its own state directory: this process opens no file a server named.
        const result = await client.restore(n);
        return { stdout: json ? JSON.stringify({ restored: result.restored, epoch: result.epoch, revision: result.revision }) : '', exit: ExitCode.OK };
      };
    }
    case 'stats':
      return async (client) => {
        const stats = await client.stats();
        if (flags.prometheus !== true) return { stdout: JSON.stringify(stats, null, 2), exit: ExitCode.OK };
        // Loaded only here: it checks the stats' shape with zod, which no other command needs.
        const { formatPrometheus, StatsShapeError } = await import('./prometheus.js');
        try {
          // The exposition ends with a line feed already; one is added to every output.
          return { stdout: formatPrometheus(stats).trimEnd(), exit: ExitCode.OK };
        } catch (error) {
          if (!(error instanceof StatsShapeError)) throw error;
          reportError({ code: 'BAD_RESPONSE', message: error.message }, json);
          return { stdout: '', exit: ExitCode.REJECTED };
        }
      };
    default:
      throw new Error(`no client command ${command}`);
  }
}

/** A value as `get` prints it: strings raw unless --json, everything else JSON (indented unless --json). */
function formatValue(value: unknown, json: boolean): string {
  return typeof value === 'string' && !json ? value : JSON.stringify(value, null, json ? undefined : 2);
}

/** A revision flag's value: plain decimal digits. */
export function revisionFlag(text: unknown, flag: string, command: string): number | undefined {
  if (text === undefined) return undefined;
  const n = typeof text === 'string' && /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(text)}`, command);
  return n;
}

/**
 * Whether a write waits for the config file to hold it: by default yes, so a script that reads
 * the file after the command sees its write (`--no-wait-file` answers once it is committed).
 */
function waitFileFlag(flags: CommandFlags, command: string): boolean {
  if (flags['wait-file'] === true && flags['no-wait-file'] === true) throw new UsageError('give --wait-file or --no-wait-file, not both', command);
  return flags['no-wait-file'] !== true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `load --merge`: one set per value that is not an object with keys, at its path (segments, so keys may hold dots). */
function mergeOps(node: Record<string, unknown>, at: string[]): { op: 'set'; path: string[]; value: unknown }[] {
  const ops: { op: 'set'; path: string[]; value: unknown }[] = [];
  for (const [key, value] of Object.entries(node)) {
    const path = [...at, key];
    if (isObject(value) && Object.keys(value).length > 0) ops.push(...mergeOps(value, path));
    else ops.push({ op: 'set', path, value });
  }
  return ops;
}
