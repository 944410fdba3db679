#!/usr/bin/env node
// config-sidecar command line: parse, dispatch, exit with the codes of docs/protocol.md.
// Only light modules are imported up front: `serve` installs its signal
// handlers before the sidecar's modules load (docs/operations.md, signals).
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LogLevel } from '../sidecar/index.js';
import { ExitCode } from './exit-codes.js';
import { ServeSignals } from './start-signals.js';
import { USAGE } from './usage.js';

const ARITY: Record<string, [min: number, max: number]> = {
  serve: [0, 0],
  get: [0, 1],
  set: [2, 2],
  unset: [1, 1],
  dump: [0, 0],
  health: [0, 0],
  info: [0, 0],
  backups: [0, 0],
  restore: [1, 1],
  watch: [0, 1],
  stats: [0, 0],
};
const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function usageError(message: string): number {
  process.stderr.write(`config-sidecar: ${message}\n${USAGE}\n`);
  return ExitCode.USAGE;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        socket: { type: 'string' },
        app: { type: 'string' },
        'log-level': { type: 'string' },
        'lock-stale-ms': { type: 'string' },
        schema: { type: 'string' },
        limit: { type: 'string', multiple: true, default: [] },
        quarantine: { type: 'string' },
        prometheus: { type: 'boolean', default: false },
        'auto-start': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        string: { type: 'boolean', default: false },
        'if-mod-revision': { type: 'string' },
        'expect-owner': { type: 'string' },
        'socket-mode': { type: 'string' },
        'socket-group': { type: 'string' },
        'read-only-socket': { type: 'string' },
        'read-only-socket-mode': { type: 'string' },
        'read-only-socket-group': { type: 'string' },
        timeout: { type: 'string' },
        'no-initial': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return ExitCode.OK;
  }
  if (command === undefined) return usageError('no command given');
  const arity = ARITY[command];
  if (arity === undefined) return usageError(`unknown command "${command}"`);
  if (rest.length < arity[0] || rest.length > arity[1]) return usageError(`${command} takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]}-${arity[1]}`} argument(s), got ${rest.length}`);

  if (command === 'serve') {
    const signals = ServeSignals.install();
    const { parseLimitFlags } = await import('./limit-flags.js');
    const level = values['log-level'];
    if (level !== undefined && !LOG_LEVELS.has(level)) return usageError(`--log-level must be one of ${[...LOG_LEVELS].join(', ')}`);
    let lockStaleMs: number | undefined;
    if (values['lock-stale-ms'] !== undefined) {
      lockStaleMs = Number(values['lock-stale-ms']);
      if (!Number.isInteger(lockStaleMs) || lockStaleMs < 2000) return usageError('--lock-stale-ms must be an integer >= 2000');
    }
    const { parseSocketAccess } = await import('./socket-access-flags.js');
    let limits;
    let quarantine;
    let socketAccess;
    let readOnlySocket;
    try {
      limits = parseLimitFlags(values.limit);
      quarantine = values.quarantine === undefined ? undefined : (await import('./quarantine-flag.js')).parseQuarantineFlag(values.quarantine);
      socketAccess = await parseSocketAccess('socket', values['socket-mode'], values['socket-group']);
      const readOnlyPath = values['read-only-socket'];
      if (readOnlyPath === undefined && (values['read-only-socket-mode'] ?? values['read-only-socket-group']) !== undefined) {
        throw new Error('--read-only-socket-mode and --read-only-socket-group need --read-only-socket PATH');
      }
      if (readOnlyPath !== undefined) {
        readOnlySocket = { path: path.resolve(readOnlyPath), ...(await parseSocketAccess('read-only-socket', values['read-only-socket-mode'], values['read-only-socket-group'])) };
      }
    } catch (error) {
      return usageError((error as Error).message);
    }
    const { serve } = await import('./serve.js');
    return serve({
      config: values.config,
      socket: values.socket,
      app: values.app,
      logLevel: level as LogLevel | undefined,
      lockStaleMs,
      schema: values.schema,
      limits,
      socketAccess,
      readOnlySocket,
      quarantine,
      signals,
    });
  }
  const timeoutMs = values.timeout === undefined ? 5000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return usageError('--timeout must be a positive integer (ms)');
  let ifModRevision: number | undefined;
  if (values['if-mod-revision'] !== undefined) {
    ifModRevision = Number(values['if-mod-revision']);
    if (!Number.isInteger(ifModRevision) || ifModRevision < 0) return usageError('--if-mod-revision must be a non-negative integer');
  }
  const clientArgs = {
    socket: values.socket,
    app: values.app,
    timeoutMs,
    json: values.json,
    autoStart: values['auto-start'],
    config: values.config,
    expectOwner: values['expect-owner'],
  };
  const [{ runClientCommand }, { watchCommand }] = await Promise.all([import('./client-commands.js'), import('./watch.js')]);
  if (command === 'watch') return watchCommand(rest[0] ?? '', clientArgs, values['no-initial'] ? 'none' : 'snapshot');
  return runClientCommand(command, rest, clientArgs, { string: values.string, ifModRevision, prometheus: values.prometheus });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`config-sidecar: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
