// Records every call a client process makes on single keys (when it was made
// and when it returned, what it asked, what came back) as JSON lines, one file
// per process, and merges the files of many processes into one history for the
// linearizability checker (test/helpers/linearizability.ts).
import { createWriteStream, type WriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigSidecarError, ErrorCode, ClientErrorCode, type ConfigClient } from '../../client/index.js';
import type { Call, Operation, Outcome, Slot } from './linearizability.js';

/**
 * Milliseconds on a clock every process on the machine shares: the wall clock at this process's
 * start plus the monotonic time since. (process.hrtime and performance.now() alone count from an
 * arbitrary point per process, so they cannot order two processes' events.)
 */
export function sharedClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One line of a history file: a call as it is made, then (if the process lives) its return. */
type HistoryLine =
  | { t: 'call'; n: number; key: string; call: Call; at: number }
  | { t: 'return'; n: number; outcome: Outcome; code?: string; at: number };

/** Write error codes that guarantee nothing was applied; any other failure of a sent write leaves its outcome unknown. */
const NOT_APPLIED = new Set<string>([
  ErrorCode.BAD_REQUEST,
  ErrorCode.VALIDATION_FAILED,
  ErrorCode.LIMIT_EXCEEDED,
  ErrorCode.WRITE_FAILED,
  ErrorCode.READ_ONLY,
  ErrorCode.SHUTTING_DOWN,
  ErrorCode.FRAME_TOO_LARGE,
  ClientErrorCode.QUEUE_FULL,
  ClientErrorCode.UNAVAILABLE,
]);

/** The outcome of a write that threw `error` (anything but a ConfigSidecarError is rethrown). */
export function writeFailure(error: unknown): { outcome: Outcome; code: string } {
  if (!(error instanceof ConfigSidecarError)) throw error;
  if (error.code === ErrorCode.CONFLICT) return { outcome: { status: 'conflict' }, code: error.code };
  // A deadline or abort before the request was written means it was never sent (docs/protocol.md).
  const neverSent = (error.code === ClientErrorCode.TIMEOUT || error.code === ClientErrorCode.ABORTED) && error.details?.sent === false;
  return { outcome: { status: NOT_APPLIED.has(error.code) || neverSent ? 'failed' : 'unknown' }, code: error.code };
}

/** What a get returned, with the modRevision a conditional write needs. */
export interface ReadEntry {
  slot: Slot;
  /** 0 when absent (ifModRevision 0: "must not exist"). */
  modRevision: number;
}

/** A client whose single-key calls are all recorded to a JSONL file. */
export class RecordingClient {
  private readonly out: WriteStream;
  private seq = 0;

  constructor(
    private readonly client: ConfigClient,
    file: string,
  ) {
    this.out = createWriteStream(file, { flags: 'a' });
  }

  /** The key's value; failures (the read told nothing) are recorded and rethrown. */
  async get(key: string): Promise<ReadEntry> {
    const n = this.begin(key, { type: 'get' });
    try {
      const entry = await this.client.getEntry(key);
      const slot: Slot = { exists: true, value: entry.value };
      this.end(n, { status: 'ok', seen: slot });
      return { slot, modRevision: entry.modRevision };
    } catch (error) {
      if (error instanceof ConfigSidecarError && error.code === ErrorCode.NOT_FOUND) {
        this.end(n, { status: 'ok', seen: { exists: false } });
        return { slot: { exists: false }, modRevision: 0 };
      }
      this.end(n, { status: 'failed' }, error instanceof ConfigSidecarError ? error.code : undefined);
      throw error;
    }
  }

  /** Sets `key`; with `read`, only if it still holds what that read saw. Resolves with the outcome, never throws a ConfigSidecarError. */
  set(key: string, value: unknown, read?: ReadEntry): Promise<{ outcome: Outcome; code?: string }> {
    const n = this.begin(key, { type: 'set', value, ...(read && { expect: read.slot }) });
    return this.settleWrite(n, this.client.set(key, value, read && { ifModRevision: read.modRevision }));
  }

  /** Deletes `key`; with `read`, only if it still holds what that read saw. */
  delete(key: string, read?: ReadEntry): Promise<{ outcome: Outcome; code?: string }> {
    const n = this.begin(key, { type: 'delete', ...(read && { expect: read.slot }) });
    return this.settleWrite(n, this.client.delete(key, read && { ifModRevision: read.modRevision }));
  }

  /** Flushes the file. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(resolve);
    });
  }

  private async settleWrite(n: number, pending: Promise<unknown>): Promise<{ outcome: Outcome; code?: string }> {
    try {
      await pending;
      this.end(n, { status: 'ok' });
      return { outcome: { status: 'ok' } };
    } catch (error) {
      const failure = writeFailure(error);
      this.end(n, failure.outcome, failure.code);
      return failure;
    }
  }

  private begin(key: string, call: Call): number {
    const n = ++this.seq;
    this.write({ t: 'call', n, key, call, at: sharedClockMs() });
    return n;
  }

  private end(n: number, outcome: Outcome, code?: string): void {
    const at = sharedClockMs();
    this.write({ t: 'return', n, outcome, ...(code !== undefined && { code }), at });
  }

  private write(line: HistoryLine): void {
    this.out.write(JSON.stringify(line) + '\n');
  }
}

/**
 * Reads every `*.jsonl` in `dir` into one history. Operations are labelled `<file name>#<n>`. A
 * call without a return (its process died) counts as unknown for a write and is dropped for a read.
 */
export async function loadHistory(dir: string): Promise<Operation[]> {
  const operations: Operation[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort()) {
    const process = name.slice(0, -'.jsonl'.length);
    const text = await readFile(path.join(dir, name), 'utf8');
    const calls = new Map<number, Extract<HistoryLine, { t: 'call' }>>();
    const lines = text.split('\n');
    // A process killed while writing leaves at most a partial last line.
    if (lines.at(-1) !== '') lines.pop();
    lines.forEach((raw, index) => {
      if (raw === '') return;
      let line: HistoryLine;
      try {
        line = JSON.parse(raw) as HistoryLine;
      } catch (error) {
        throw new Error(`${name}:${index + 1}: not a history line: ${(error as Error).message}`);
      }
      if (line.t === 'call') {
        calls.set(line.n, line);
        return;
      }
      const call = calls.get(line.n);
      if (call === undefined) throw new Error(`${name}:${index + 1}: a return for call ${line.n}, which was never made`);
      calls.delete(line.n);
      operations.push({ key: call.key, call: call.call, outcome: line.outcome, invokeMs: call.at, ...(line.outcome.status !== 'unknown' && { returnMs: line.at }), label: `${process}#${line.n}`, ...(line.code !== undefined && { code: line.code }) });
    });
    for (const call of calls.values()) {
      operations.push({ key: call.key, call: call.call, outcome: call.call.type === 'get' ? { status: 'failed' } : { status: 'unknown' }, invokeMs: call.at, label: `${process}#${call.n}` });
    }
  }
  return operations;
}

/** How the recorded operations ended, by outcome (and error code): for a diagnostic line. */
export function outcomeCounts(operations: readonly Operation[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const op of operations) {
    const name = `${op.call.type} ${op.outcome.status}${op.code === undefined ? '' : ` ${op.code}`}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
