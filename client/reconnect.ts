// Reconnect policy and connection states, as data. The delay before attempt n
// (n = 0, 1, ...) is rand(0.5..1) x min(25 x 2^n, 2000) ms: quick first
// retries, a 2 s ceiling, jitter so a restarted sidecar is not hit by every
// client in the same millisecond.

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** What status() yields and the client emits. */
export type StatusEvent =
  | { type: 'connecting' }
  | { type: 'connected'; epoch: string; revision: number }
  | { type: 'disconnected'; error?: string }
  | { type: 'reconnecting'; attempt: number; delayMs: number }
  | { type: 'resynced'; epoch: string; revision: number }
  /** `error`: why, when the client gave up (reconnect attempts exhausted) rather than being closed. */
  | { type: 'closed'; error?: string };

export interface ReconnectPolicy {
  baseMs: number;
  maxMs: number;
  /** Failed attempts in a row after which the client closes itself (default: never). */
  maxAttempts: number;
  /** Random number in [0, 1); replaceable for tests. */
  random(): number;
}

export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = { baseMs: 25, maxMs: 2000, maxAttempts: Infinity, random: Math.random };

export function reconnectDelay(attempt: number, policy: ReconnectPolicy = DEFAULT_RECONNECT_POLICY): number {
  const ceiling = Math.min(policy.baseMs * 2 ** Math.min(attempt, 30), policy.maxMs);
  return Math.round((0.5 + policy.random() * 0.5) * ceiling);
}
