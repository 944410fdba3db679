// CLI exit codes (README.md, CLI) and how each error code maps to one.
import type { AnyErrorCode } from '../client/index.js';

export const ExitCode = {
  OK: 0,
  /** The sidecar rejected the request (validation, conflict, not found, ...), or health is not ok. */
  REJECTED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** No sidecar answered, or it did not answer in time. */
  UNREACHABLE: 3,
} as const;

const UNREACHABLE_CODES: ReadonlySet<AnyErrorCode> = new Set<AnyErrorCode>([
  'TIMEOUT',
  'UNAVAILABLE',
  'OUTCOME_UNKNOWN',
  'CLOSED',
  'SHUTTING_DOWN',
  'QUEUE_FULL',
  // The trusted sidecar was not reached: nothing was sent to whatever listens there.
  'UNTRUSTED_SOCKET',
]);

export function exitCodeFor(code: AnyErrorCode): number {
  return UNREACHABLE_CODES.has(code) ? ExitCode.UNREACHABLE : ExitCode.REJECTED;
}
