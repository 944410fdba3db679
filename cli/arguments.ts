// The command line as one command sees it: which command, its positional
// arguments and its options, or a UsageError saying in one line what is wrong.
import { COMMANDS, OPTIONS, type OptionName } from './commands.js';
import { UsageError } from './cli-errors.js';

// Not `import ... from 'node:util'`: an ES import of a built-in builds its whole namespace, which
// for node:util and node:fs loads several MiB of Node internals every CLI call would pay for.
const { parseArgs } = process.getBuiltinModule('node:util');

export type Invocation =
  | { kind: 'help'; command?: string }
  | { kind: 'version' }
  | { kind: 'run'; command: string; positionals: string[]; values: Partial<Record<OptionName, string | boolean | string[]>>; json: boolean };

/** `-5`, `-0.5`, `-.5`, `-1e3`: a negative number, which is a value, not a short option. */
const NEGATIVE_NUMBER = /^-(?:\d|\.\d)/;

/** True when `--json` is among the options (before any `--`), so even a usage error can be reported as JSON. */
export function wantsJson(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--json') return true;
  }
  return false;
}

export function parseCommandLine(argv: readonly string[]): Invocation {
  const first = argv[0];
  if (first === '--version' || first === '-V' || first === 'version') return { kind: 'version' };
  if (first === undefined) throw new UsageError('no command given');
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === 'help') {
    const about = argv[1];
    if (about !== undefined && COMMANDS[about] === undefined) throw new UsageError(`unknown command "${about}"`);
    return { kind: 'help', command: about };
  }
  if (first.startsWith('-')) throw new UsageError(`expected a command before ${first}`);
  const command = first;
  const spec = COMMANDS[command];
  if (spec === undefined) throw new UsageError(`unknown command "${command}"`);
  const json = wantsJson(argv);

  // parseArgs would read `-5` as the short options 5; keep such values apart and put them back after.
  const negatives = new Map<string, string>();
  const args = argv.slice(1).map((arg, index) => {
    if (!NEGATIVE_NUMBER.test(arg)) return arg;
    const token = `\u0000negative-${index}`;
    negatives.set(token, arg);
    return token;
  });
  const restore = (text: string) => negatives.get(text) ?? text;

  for (const arg of args) {
    if (arg === '--') break;
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=')[0]!;
    if (name === 'help' || (spec.options as readonly string[]).includes(name)) continue;
    if (name in OPTIONS) {
      const users = Object.entries(COMMANDS)
        .filter(([, other]) => (other.options as readonly string[]).includes(name))
        .map(([other]) => other);
      throw new UsageError(`--${name} does not apply to ${command} (it is an option of ${users.join(', ')})`, command);
    }
    throw new UsageError(`unknown option --${name}`, command);
  }

  const options: Record<string, (typeof OPTIONS)[OptionName]> = { help: OPTIONS.help };
  for (const name of spec.options) options[name] = OPTIONS[name];
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs's messages carry their own advice about `--`; the first sentence is the fault.
    const message = (error as Error).message.replace(/\u0000negative-\d+/g, (token) => negatives.get(token) ?? token).split('. ')[0]!;
    throw new UsageError(message, command);
  }
  if (parsed.values.help === true) return { kind: 'help', command };
  const values: Partial<Record<OptionName, string | boolean | string[]>> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined || name === 'help') continue;
    values[name as OptionName] = Array.isArray(value) ? value.map((item) => restore(String(item))) : typeof value === 'string' ? restore(value) : (value as boolean);
  }
  const positionals = parsed.positionals.map(restore);
  const [min, max] = spec.args;
  if (positionals.length < min || positionals.length > max) {
    const wanted = min === max ? `${min}` : `${min} to ${max}`;
    throw new UsageError(`${command} takes ${wanted} argument${max === 1 ? '' : 's'}, got ${positionals.length}${positionals.length > max ? ` (${positionals.slice(max).join(' ')})` : ''}`, command);
  }
  return { kind: 'run', command, positionals, values, json };
}
