// Structured logs to stderr (journald keeps stderr), never to stdout. At info
// level no config values are logged: a config may hold secrets.
import { pino } from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel = 'info'): Logger {
  // Asynchronous destination: a slow stderr reader never blocks request handling.
  // Levels as labels ("level":"warn"), which journald and log shippers filter on without a number table.
  return pino({ level, base: { pid: process.pid }, formatters: { level: (label) => ({ level: label }) } }, pino.destination({ dest: 2, sync: false }));
}
