// Read-only mode for a file that does not match the schema at start: the
// newest earlier state that matches is served (matching-state.ts), writes are
// refused with READ_ONLY, and health says why and what to do. Two writes are
// let through, because they are how an operator repairs the file: a re-read
// of the file (a hand edit, SIGHUP), judged by the schema like any, and a
// client replacing the whole document (`config-sidecar restore`). Once one of
// them commits, or the file is edited to hold exactly what is served, the
// file matches again and writes are taken as usual.
import { ErrorCode, ProtocolError, parsePath, type WriteOp } from '../../protocol/index.js';
import type { CommitQueue, RevisionSource } from '../store/commit-queue.js';
import type { Health } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';

/** The writes that repair a read-only file. */
export function repairsFile(ops: readonly WriteOp[], source: RevisionSource): boolean {
  if (source === 'file' || source === 'reload') return true;
  return source === 'client' && ops.length === 1 && ops[0]!.op === 'set' && parsePath(ops[0]!.path).length === 0;
}

export class SchemaFallback {
  private readonly refusal: ProtocolError;
  private active = false;

  constructor(
    /** Why the file is not served: it does not match, and what was served instead. */
    private readonly mismatch: string,
    /** What the operator does about it. */
    private readonly remedy: string,
    private readonly queue: CommitQueue,
    private readonly health: Health,
    private readonly log: Logger,
    /** What the log says on entering (a file over maxDocumentBytes uses this read-only mode too: sidecar.ts). */
    private readonly entering = 'the config file does not match the schema: serving an earlier state read-only',
  ) {
    this.refusal = new ProtocolError(ErrorCode.READ_ONLY, `${mismatch}; writes are refused until ${remedy}`);
  }

  enter(): void {
    this.active = true;
    this.health.schemaMismatch = this.mismatch;
    this.health.readOnly = `until ${this.remedy}`;
    this.queue.refuseWrites(this.refusal, repairsFile);
    this.log.warn({ reason: this.mismatch }, this.entering);
  }

  /** The file holds a document that matches again (a repairing write committed, or an edit equal to what is served). */
  leave(why: string): void {
    if (!this.active) return;
    this.active = false;
    this.queue.liftRefusal(this.refusal);
    this.health.schemaMismatch = null;
    this.health.readOnly = null;
    this.log.info({ why }, 'the config file is usable again: writes are taken');
  }
}
