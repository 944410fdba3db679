// Every command of the CLI: its arguments, the options it takes, and its help
// text. The entry point refuses an option a command does not list, and loads
// a command's code only when that command runs.

export type OptionName = keyof typeof OPTIONS;

/** The levels of `serve --log-level` and `log-level` (the wire's list is protocol/messages.ts LOG_LEVELS; the CLI does not load zod). */
export const LOG_LEVEL_NAMES: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Every option of every command, as node:util parseArgs takes them. */
export const OPTIONS = {
  // serve
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'lock-stale-ms': { type: 'string' },
  schema: { type: 'string' },
  limit: { type: 'string', multiple: true },
  quarantine: { type: 'string' },
  'socket-mode': { type: 'string' },
  'socket-group': { type: 'string' },
  'read-only-socket': { type: 'string' },
  'read-only-socket-mode': { type: 'string' },
  'read-only-socket-group': { type: 'string' },
  'system-file': { type: 'string' },
  locks: { type: 'string' },
  fleet: { type: 'string' },
  'fleet-ca': { type: 'string' },
  'fleet-cert': { type: 'string' },
  'fleet-key': { type: 'string' },
  'fleet-user': { type: 'string' },
  'fleet-password-file': { type: 'string' },
  // client commands
  socket: { type: 'string' },
  app: { type: 'string' },
  timeout: { type: 'string' },
  wait: { type: 'string' },
  'expect-owner': { type: 'string' },
  'auto-start': { type: 'boolean' },
  json: { type: 'boolean' },
  // one command each
  default: { type: 'string' },
  string: { type: 'boolean' },
  file: { type: 'string' },
  'if-mod-revision': { type: 'string' },
  'wait-file': { type: 'boolean' },
  'no-wait-file': { type: 'boolean' },
  all: { type: 'boolean' },
  merge: { type: 'boolean' },
  'no-initial': { type: 'boolean' },
  rev: { type: 'string' },
  prometheus: { type: 'boolean' },
  ack: { type: 'boolean' },
  layers: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export interface CommandSpec {
  /** Fewest and most positional arguments. */
  args: readonly [min: number, max: number];
  /** `get [PATH] [--default V]`: the first line of its help. */
  synopsis: string;
  /** One line for the overview page. */
  summary: string;
  /** The rest of its help page. */
  details: string;
  options: readonly OptionName[];
}

/** Options every command talking to a running sidecar takes. */
const CLIENT: readonly OptionName[] = ['socket', 'app', 'timeout', 'wait', 'expect-owner', 'auto-start', 'config', 'json'];

export const COMMANDS: Record<string, CommandSpec> = {
  serve: {
    args: [0, 0],
    synopsis:
      'serve [--config F] [--socket S] [--app NAME] [--log-level L] [--lock-stale-ms N] [--schema M] [--limit NAME=VALUE]...\n' +
      '      [--quarantine FILES,BYTES] [--socket-mode 0660 --socket-group G]\n' +
      '      [--read-only-socket P [--read-only-socket-mode M --read-only-socket-group G]]\n' +
      '      [--fleet etcd://HOST:PORT[,…]/PREFIX/ [--fleet-ca F [--fleet-cert F --fleet-key F]] [--fleet-user U [--fleet-password-file F]]]\n' +
      '      [--system-file F] [--locks F]',
    summary: 'run the sidecar in the foreground',
    details: `  --config F          the config file (default $CONFIG_SIDECAR_CONFIG, else the platform's config directory)
  --socket S          the socket (default $CONFIG_SIDECAR_SOCKET, else the per-user runtime directory)
  --log-level L       fatal, error, warn, info (default), debug, trace or silent
  --lock-stale-ms N   the lock counts as abandoned N ms after its last refresh (>= 2000; default 10000)
  --schema M          an ES module exporting a zod schema, or a JSON Schema file
  --limit NAME=VALUE  override one limit (docs/protocol.md lists them); repeatable
  --quarantine FILES,BYTES
                      quarantine/ keeps the newest FILES refused files within BYTES (default 20,67108864)
  --socket-mode M, --socket-group G
                      who may connect (default 0600: this user only)
  --read-only-socket P
                      a second socket serving get/watch/health/info; every write is refused READ_ONLY
  --fleet URL         a fleet layer from an etcd prefix, below the system file (docs/operations.md); TLS with
                      --fleet-ca/--fleet-cert/--fleet-key, auth with --fleet-user and --fleet-password-file
                      or $CONFIG_SIDECAR_FLEET_PASSWORD
  --system-file F     a read-only layer an administrator owns, between the fleet and the file; re-read when it changes
  --locks F           a JSON list of paths whose value comes from the layers below the file; writes to them get LOCKED
  --json              a start-up failure as one JSON line on stderr
Stops on SIGTERM or SIGINT; SIGHUP re-reads the file. Under systemd (NOTIFY_SOCKET) it reports readiness.`,
    options: ['config', 'socket', 'app', 'log-level', 'lock-stale-ms', 'schema', 'limit', 'quarantine', 'socket-mode', 'socket-group', 'read-only-socket', 'read-only-socket-mode', 'read-only-socket-group', 'system-file', 'locks', 'fleet', 'fleet-ca', 'fleet-cert', 'fleet-key', 'fleet-user', 'fleet-password-file', 'json'],
  },
  get: {
    args: [0, 1],
    synopsis: 'get [PATH] [--default V] [--json]',
    summary: 'print a value (strings raw unless --json)',
    details: `  PATH         dot path (server.port, dirs.0); none for the whole document
  --default V  print V (read as set reads a VALUE) instead of failing when PATH does not exist
  --json       print strings as JSON too, and errors as JSON
Exit 1 with NOT_FOUND when PATH does not exist and no --default is given.`,
    options: ['default', ...CLIENT],
  },
  set: {
    args: [1, 2],
    synopsis: 'set PATH VALUE|- [--string] [--if-mod-revision N]    or    set PATH --file F',
    summary: 'store a value (VALUE is JSON when it parses as JSON, else a string)',
    details: `  VALUE               JSON if it parses (8080, true, {"a":1}, -5), else the text itself
  -                   read VALUE from standard input
  --file F            read VALUE from file F
                      (from stdin or a file, one trailing line feed is dropped)
  --string            store VALUE as a string even if it parses as JSON
  --if-mod-revision N only if PATH was last changed in revision N (0: only if it does not exist); else CONFLICT
  --json              print {"epoch","revision"} of the write, and errors as JSON
  --no-wait-file      answer once the write is committed, without waiting for the config file to hold it
                      (by default the command waits, so the file shows the write when it exits)
Integers beyond ±(2^53-1) are refused (they would lose digits): store them with --string.`,
    options: ['string', 'file', 'if-mod-revision', 'wait-file', 'no-wait-file', ...CLIENT],
  },
  unset: {
    args: [0, 1],
    synopsis: 'unset PATH [--if-mod-revision N]    or    unset --all',
    summary: 'remove a value',
    details: `  --if-mod-revision N only if PATH was last changed in revision N; else CONFLICT
  --all               remove the whole document (PATH '' alone is refused: too easy to type by mistake)
  --json              print {"epoch","revision","existed"}, and errors as JSON
  --no-wait-file      answer once the write is committed, without waiting for the config file to hold it
                      (by default the command waits, so the file shows the write when it exits)`,
    options: ['if-mod-revision', 'all', 'wait-file', 'no-wait-file', ...CLIENT],
  },
  list: {
    args: [0, 1],
    synopsis: 'list [PATH] [--json]',
    summary: 'the keys under PATH, one per line',
    details: `  PATH    an object (its keys) or an array (its indexes); none for the top level
  --json  a JSON array instead`,
    options: CLIENT,
  },
  dump: {
    args: [0, 0],
    synopsis: 'dump [--json] [--layers]',
    summary: 'the whole document as JSON',
    details: '  --json    one compact line instead of indented JSON, and errors as JSON\n  --layers  each layer (fleet, system, user, locks) and the merged document',
    options: ['layers', ...CLIENT],
  },
  load: {
    args: [1, 1],
    synopsis: 'load FILE|- [--merge]',
    summary: 'write a JSON document from FILE (- for stdin) as one revision',
    details: `  --merge  keep what FILE does not mention: objects are merged key by key, everything else
           (strings, numbers, arrays, empty objects) replaces the value at its path
Without --merge FILE replaces the whole document.
  --json   print {"epoch","revision"}, and errors as JSON
  --no-wait-file  answer once the write is committed, without waiting for the config file to hold it`,
    options: ['merge', 'wait-file', 'no-wait-file', ...CLIENT],
  },
  watch: {
    args: [0, 1],
    synopsis: 'watch [PATH] [--no-initial | --rev N]',
    summary: 'one JSON line per change, until SIGINT or SIGTERM',
    details: `  --no-initial  no first line with the current value
  --rev N       start with the changes of revision N and later (resume where an earlier watch
                stopped) while the sidecar's history still holds them, else one "resync" line with
                the difference to the value now; no line with the current value
  --json        errors as JSON (the lines are JSON already)`,
    options: ['no-initial', 'rev', ...CLIENT],
  },
  health: {
    args: [0, 0],
    synopsis: 'health [--ack]',
    summary: 'JSON; exit 0 ok, 1 degraded or failing, 3 unreachable',
    details: '  --ack  acknowledge a reported hand-edit merge conflict (health stops naming it)',
    options: ['ack', ...CLIENT],
  },
  info: {
    args: [0, 0],
    synopsis: 'info',
    summary: 'sidecar and machine facts (OS, kernel, virtualization, container, shell), JSON',
    details: '',
    options: CLIENT,
  },
  stats: {
    args: [0, 0],
    synopsis: 'stats [--prometheus]',
    summary: 'counters, latency histograms, event-loop delay, health: JSON, or Prometheus text',
    details: '  --prometheus  the Prometheus text exposition format (for a textfile collector)',
    options: ['prometheus', ...CLIENT],
  },
  fleet: {
    args: [1, 1],
    synopsis: 'fleet status',
    summary: "the fleet layer: connected, etcd revision, lag, the served state's age, JSON",
    details: 'Exit 0 when connected to etcd, 1 when not (the stored fleet state is served meanwhile).',
    options: CLIENT,
  },
  'log-level': {
    args: [0, 1],
    synopsis: 'log-level [LEVEL]',
    summary: "print the running sidecar's log level, or set it (until it stops)",
    details: `  LEVEL   fatal, error, warn, info, debug, trace or silent; none: print the level only
  --json  print {"level","previous"}, and errors as JSON
The change is logged at info whatever the level. SIGUSR2 steps the level too (docs/operations.md).`,
    options: CLIENT,
  },
  backups: {
    args: [0, 0],
    synopsis: 'backups',
    summary: 'the kept good versions of the file, newest first, JSON',
    details: '',
    options: CLIENT,
  },
  restore: {
    args: [1, 1],
    synopsis: 'restore N',
    summary: 'bring backup N (1 = newest) back as a new revision',
    details: '  --json  print {"restored","epoch","revision"}, and errors as JSON',
    options: CLIENT,
  },
};

const COMMON_HELP = `options of every command but serve:
  --socket S          the sidecar's socket (default $CONFIG_SIDECAR_SOCKET, else per-user default)
  --app NAME          default paths for another app name
  --timeout MS        deadline for the answer (default 5000)
  --wait MS           wait up to MS for the socket to appear (default: fail at once when it does not exist)
  --expect-owner USER who must own the socket and its directory (default this user)
  --auto-start        start a sidecar in the background when none answers (--config F: its file)
  --json              errors as one JSON line on stderr: {"error":{"code","message",...}}`;

const EXIT_CODES = 'exit codes: 0 ok, 1 rejected (validation, conflict, not found), 2 usage, 3 sidecar unreachable or timed out';

/** The overview: every command, one line each. */
export function overviewHelp(): string {
  const lines = Object.entries(COMMANDS).map(([name, spec]) => `  ${name.padEnd(9)} ${spec.summary}`);
  return `usage: config-sidecar <command> [options]    (config-sidecar <command> --help for its options)

${lines.join('\n')}

${COMMON_HELP}
  --version           print the version
${EXIT_CODES}
environment: CONFIG_SIDECAR_CONFIG, CONFIG_SIDECAR_SOCKET; serve: NOTIFY_SOCKET, WATCHDOG_USEC (systemd Type=notify)`;
}

/** One command's page. */
export function commandHelp(name: string): string {
  const spec = COMMANDS[name]!;
  const parts = [`usage: config-sidecar ${spec.synopsis}`, '', spec.summary];
  if (spec.details !== '') parts.push(spec.details);
  if (name !== 'serve') parts.push('', COMMON_HELP);
  parts.push(EXIT_CODES);
  return parts.join('\n');
}
