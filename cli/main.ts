#!/usr/bin/env node
// config-sidecar command line: parse, dispatch, exit with the codes of docs/protocol.md.
// Only the small modules that read the command line are imported up front; each
// command loads its own code when it runs (a `get` never loads the sidecar), and
// `serve` installs its signal handlers before the sidecar's modules load
// (docs/operations.md, signals).
import type { Invocation } from './arguments.js';
import { enableCompileCache } from './compile-cache.js';
import { resolveOwnModulesDirectly } from './own-module-resolution.js';

// First, so that the cache covers every module the CLI loads after this one.
enableCompileCache();
// The command is always the first argument. Not for serve: its resolution costs nothing later, and
// schema modules have hooks of their own; for the rest, before any more of the CLI's modules load.
const serving = process.argv[2] === 'serve';
if (!serving) resolveOwnModulesDirectly();
const [{ parseCommandLine, wantsJson }, { UsageError, reportError, reportUsage }, { LOG_LEVEL_NAMES, commandHelp, overviewHelp }, { ExitCode }, startSignals] = await Promise.all([
  import('./arguments.js'),
  import('./cli-errors.js'),
  import('./commands.js'),
  import('./exit-codes.js'),
  serving ? import('./start-signals.js') : undefined,
]);

// Built-ins through getBuiltinModule, not ES imports: see arguments.ts.
const { readFileSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');


type Run = Extract<Invocation, { kind: 'run' }>;

async function main(argv: string[]): Promise<number> {
  const invocation = parseCommandLine(argv);
  switch (invocation.kind) {
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`config-sidecar ${pkg.version}\n`);
      return ExitCode.OK;
    }
    case 'help':
      process.stdout.write((invocation.command === undefined ? overviewHelp() : commandHelp(invocation.command)) + '\n');
      return ExitCode.OK;
    case 'run':
      if (invocation.command === 'serve') return runServe(invocation);
      return runClient(invocation);
  }
}

async function runServe({ values, json }: Run): Promise<number> {
  // Loaded with the first modules whenever the first argument is serve, as it is here.
  const signals = startSignals!.ServeSignals.install();
  const level = values['log-level'] as string | undefined;
  if (level !== undefined && !LOG_LEVEL_NAMES.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVEL_NAMES.join(', ')}, got ${level}`, 'serve');
  let lockStaleMs: number | undefined;
  if (values['lock-stale-ms'] !== undefined) {
    lockStaleMs = Number(values['lock-stale-ms']);
    if (!Number.isInteger(lockStaleMs) || lockStaleMs < 2000) throw new UsageError('--lock-stale-ms must be an integer >= 2000', 'serve');
  }
  const [{ parseLimitFlags }, { parseSocketAccess }] = await Promise.all([import('./limit-flags.js'), import('./socket-access-flags.js')]);
  let limits;
  let quarantine;
  let socketAccess;
  let readOnlySocket;
  try {
    limits = parseLimitFlags((values.limit as string[] | undefined) ?? []);
    const quarantineFlag = values.quarantine as string | undefined;
    quarantine = quarantineFlag === undefined ? undefined : (await import('./quarantine-flag.js')).parseQuarantineFlag(quarantineFlag);
    socketAccess = await parseSocketAccess('socket', values['socket-mode'] as string | undefined, values['socket-group'] as string | undefined);
    const readOnlyPath = values['read-only-socket'] as string | undefined;
    const readOnlyMode = values['read-only-socket-mode'] as string | undefined;
    const readOnlyGroup = values['read-only-socket-group'] as string | undefined;
    if (readOnlyPath === undefined && (readOnlyMode ?? readOnlyGroup) !== undefined) {
      throw new Error('--read-only-socket-mode and --read-only-socket-group need --read-only-socket PATH');
    }
    if (readOnlyPath !== undefined) readOnlySocket = { path: path.resolve(readOnlyPath), ...(await parseSocketAccess('read-only-socket', readOnlyMode, readOnlyGroup)) };
  } catch (error) {
    throw new UsageError((error as Error).message, 'serve');
  }
  const layers = await (await import('./layer-flags.js')).parseLayerFlags(values);
  const { serve } = await import('./serve.js');
  return serve({
    config: values.config as string | undefined,
    socket: values.socket as string | undefined,
    app: values.app as string | undefined,
    logLevel: level as Parameters<typeof serve>[0]['logLevel'],
    lockStaleMs,
    schema: values.schema as string | undefined,
    limits,
    socketAccess,
    readOnlySocket,
    quarantine,
    layers,
    signals,
    json,
  });
}

async function runClient({ command, positionals, values, json }: Run): Promise<number> {
  const timeoutMs = positiveMs(values.timeout, '--timeout', command) ?? 5000;
  const waitMs = values.wait === undefined ? undefined : (positiveMs(values.wait, '--wait', command) ?? 0);
  const autoStart = values['auto-start'] === true;
  if (values.config !== undefined && !autoStart) throw new UsageError('--config names the file of an auto-started sidecar: it goes with --auto-start', command);
  const socketPath = await resolveSocket(values.socket as string | undefined, values.app as string | undefined, command);
  const args = {
    socketPath,
    app: values.app as string | undefined,
    timeoutMs,
    waitMs,
    json,
    autoStart,
    config: values.config as string | undefined,
    expectOwner: values['expect-owner'] as string | undefined,
  };
  if (command === 'watch') {
    const fromRevision = positiveMs(values.rev, '--rev', command, 'revision');
    const { watchCommand } = await import('./watch.js');
    return watchCommand(positionals[0] ?? '', args, fromRevision === undefined ? { initial: values['no-initial'] === true ? 'none' : 'snapshot' } : { fromRevision });
  }
  const { runClientCommand } = await import('./client-commands.js');
  return runClientCommand(command, positionals, values, args);
}

/** A flag that counts milliseconds (or a revision): plain decimal digits, above zero. */
function positiveMs(text: unknown, flag: string, command: string, unit = 'ms'): number | undefined {
  if (text === undefined) return undefined;
  const n = typeof text === 'string' && /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer (${unit}), got ${JSON.stringify(text)}`, command);
  return n;
}

/** The socket a client command talks to: --socket, else the default for --app and the environment (as connect() finds it). */
async function resolveSocket(socket: string | undefined, app: string | undefined, command: string): Promise<string> {
  if (socket !== undefined) return process.platform === 'win32' ? socket : path.resolve(socket);
  const { DEFAULT_APP_NAME, defaultSocketPath } = await import('../protocol/default-paths.js');
  try {
    return defaultSocketPath(app ?? DEFAULT_APP_NAME);
  } catch (error) {
    throw new UsageError(`--app: ${(error as Error).message}`, command);
  }
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      reportUsage(error, wantsJson(argv));
      process.exitCode = ExitCode.USAGE;
      return;
    }
    reportError({ code: 'INTERNAL', message: (error as Error).stack ?? String(error) }, wantsJson(argv));
    process.exitCode = 1;
  },
);
