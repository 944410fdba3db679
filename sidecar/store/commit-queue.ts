// Group commit. Writes are checked and applied to a working copy at once, in
// arrival order, and wait for the flush that makes them durable; writes that
// arrive while a flush runs share the next one (one fsync, many acks).
// Readers see only `committed`, which moves only after a flush succeeds. A
// failed flush fails its writes, returns the working copy to the committed
// state, and re-applies the writes queued behind it (docs/defects.md, D4, D5:
// no snapshot older than memory is ever written, no two flushes overlap).
// Without an admission the committed document is a tree of its own, brought
// up to date from each flush's changes: neither tree shares an object the
// other changes in place, so a run of writes into an object with thousands of
// keys copies it for neither (docs/decisions.md, "Two trees").
import { ErrorCode, ProtocolError, type Guard, type WriteOp } from '../../protocol/index.js';
import { formatPath, getAt, parsePath, type Limits } from '../../protocol/index.js';
import { entryCount } from './container-size.js';
import { applyOps, depthOf, PreconditionFailed, readPath, type Change, type LowerLayers, type OpResult, type StoreState } from './store-state.js';
import { documentBytes, knownBytes } from './json-text.js';
import { applyChanges, OwnedCopies, type JsonObject } from './document.js';

export interface CommitResult {
  revision: number;
  results: OpResult[];
}

/** The revisions one flush makes durable and what they changed in the document (not the schema's view). */
export interface FlushGroup {
  first: number;
  last: number;
  changes: Change[];
  /** Every write in it is a hand edit (source 'file' or 'reload'). */
  onlyHandEdits?: boolean;
  /** Some write in it is a hand edit. */
  anyHandEdit?: boolean;
}

/**
 * Writes `next`'s document durably over `previous`'s (`group` is the step
 * between them); rejects if it could not (nothing was applied), or with
 * OutcomeUnknown when it cannot tell. `next.doc` may be the working copy,
 * which later writes change in place: read it in this turn only.
 */
export type Persist = (next: StoreState, previous: StoreState, group: FlushGroup) => Promise<void>;

/**
 * A flush whose outcome cannot be known, because this process lost ownership
 * of the file while making it: its writes are never answered (their clients
 * see the connection drop: OUTCOME_UNKNOWN), the writes queued behind it fail
 * WRITE_FAILED, and the queue takes no more.
 */
export class OutcomeUnknown extends Error {
  override readonly name: string = 'OutcomeUnknown';
}

/** Where a revision came from: a client request, a hand edit of the file, a re-read (SIGHUP), a schema migration at start. */
export type RevisionSource = 'client' | 'file' | 'reload' | 'migration' | 'fleet' | 'system';

/** One durable revision, as watchers and history need it. */
export interface CommittedRevision {
  revision: number;
  source: RevisionSource;
  changes: Change[];
  /** Approximate size of the changed values (request bytes), for bounding history memory. */
  bytes: number;
}

/**
 * A check every candidate state passes before it is accepted (the schema).
 * It resolves with the state readers should see (with its `view` filled in)
 * and the changes watchers get, or rejects (VALIDATION_FAILED) to refuse it.
 */
export type Admission = (next: StoreState, previous: StoreState, changes: Change[]) => Promise<{ state: StoreState; changes: Change[] }>;

/** What a write whose precondition waits on a pending flush resolves with: try again once it has settled. */
const RETRY_AFTER_FLUSH = Symbol('retryAfterFlush');

export interface CommitQueueEvents {
  /** A flush made these revisions durable (in order); `state` is the new committed state, `group` what the flush wrote. */
  onCommitted?(state: StoreState, revisions: CommittedRevision[], group: FlushGroup): void;
  /** A flush failed; its writes were answered with WRITE_FAILED. */
  onFlushFailed?(error: unknown, writes: number): void;
  /** A flush ended with OutcomeUnknown: the queue has stopped for good. */
  onOutcomeUnknown?(error: OutcomeUnknown, writes: number): void;
}

interface PendingWrite {
  ops: readonly WriteOp[];
  /** Computes `ops` from the working document when the write is applied (a hand edit's merge). */
  derive?: ((working: JsonObject) => readonly WriteOp[]) | undefined;
  source: RevisionSource;
  bytes: number;
  revision: number;
  results: OpResult[];
  changes: Change[];
  /** The document changes (what the file gets), where `changes` may be the schema's view of them. */
  docChanges: Change[];
  /** Conditions on other paths (`if`), checked with the ops' own ifModRevision. */
  guards: readonly Guard[];
  /** The write changes nothing (equal values): it makes no revision. */
  unchanged?: boolean;
  /** New layers below the file (a fleet, system or locks change): a revision only if the served view changes. */
  layers?: LowerLayers;
  /** The working state right after this write and its file size: what a flush ending with it commits. */
  after?: { state: StoreState; bytes: number };
  resolve(result: CommitResult | typeof RETRY_AFTER_FLUSH): void;
  reject(error: unknown): void;
}

export class CommitQueue {
  private committedState: StoreState;
  private working: StoreState;
  /** Size of the file for each state, kept up to date per write without re-rendering the document. */
  private committedBytes: number;
  private workingBytes: number;
  private pending: PendingWrite[] = [];
  /**
   * Objects the working copy made itself and shares with nobody: later writes change them in place.
   * Not with an admission (the schema's view may share them).
   */
  private readonly owned = new OwnedCopies();
  /**
   * Without an admission: objects the committed tree made itself, changed in place by each flush's
   * changes. Released whenever someone keeps the committed document (`snapshot()`).
   */
  private readonly committedOwned: OwnedCopies | undefined;
  private flushing: Promise<void> | undefined;
  private refusal: ProtocolError | undefined;
  /** Writes let through despite the refusal (schema-fallback.ts: the writes that repair a read-only file). */
  private exempt: ((ops: readonly WriteOp[], source: RevisionSource) => boolean) | undefined;
  /** Set once a flush ended with OutcomeUnknown: nothing is queued any more. */
  private halted: ProtocolError | undefined;
  /**
   * Every change to the working copy runs here, one at a time, in arrival
   * order: admissions may be asynchronous (schema checks that touch the
   * disk), so a write is judged against the working copy its predecessors
   * left, and a failed flush's rollback cannot interleave with one.
   */
  private lane: Promise<void> = Promise.resolve();
  /** The write applied to the working copy last: a layers change that makes no revision rides with it (accept). */
  private lastApplied: PendingWrite | undefined;
  /** Writes waiting for the current flush to settle before their precondition is checked again. */
  private flushWaiters: (() => void)[] = [];
  /** Flush count and writes acknowledged, for stats. */
  readonly counters = { flushes: 0, writes: 0, failedFlushes: 0 };

  constructor(
    initial: StoreState,
    private readonly persist: Persist,
    /** maxDepth: the deepest document allowed is one level less, so a get of the root fits in a response. */
    private readonly limits: Pick<Limits, 'maxDocumentBytes' | 'maxDepth' | 'maxArrayLength'>,
    private readonly events: CommitQueueEvents = {},
    private readonly admission?: Admission,
  ) {
    this.committedState = initial;
    this.working = initial;
    this.committedOwned = admission === undefined ? new OwnedCopies() : undefined;
    this.committedBytes = documentBytes(initial.doc);
    this.workingBytes = this.committedBytes;
  }

  /**
   * The durable state: what every read and watch sees. Its document may be
   * changed in place by the next flush: read it in this turn, or take a
   * `snapshot()` to keep it.
   */
  get committed(): StoreState {
    return this.committedState;
  }

  /** The durable state, to keep: nothing in its document is changed in place from now on (later flushes copy what they change). */
  snapshot(): StoreState {
    this.committedOwned?.release();
    return this.committedState;
  }

  /** No write is waiting for a flush: the working copy holds what is committed. */
  private get settled(): boolean {
    return this.working.revision === this.committedState.revision;
  }

  /** Working copy and committed state become `state` (a failed flush, layers that change nothing served): no object of it is changed in place by either side. */
  private shareTrees(state: StoreState): void {
    this.owned.release();
    this.committedOwned?.release();
    this.working = state;
    this.committedState = state;
  }

  /**
   * Checks and queues one write (one revision); settles once it is durable or
   * has failed. A precondition that fails only because of a write not yet
   * durable is judged again once that write's flush has settled: a CONFLICT is
   * only ever reported against committed state, so the caller's retry reads
   * the value it conflicted with (and a CAS loop does not spin on a flush).
   */
  async submit(ops: readonly WriteOp[], source: RevisionSource = 'client', bytes = 0, guards: readonly Guard[] = []): Promise<CommitResult> {
    for (;;) {
      if (this.refusal !== undefined && this.exempt?.(ops, source) !== true) throw this.refusal;
      const outcome = await this.enqueue(ops, source, bytes, guards);
      if (outcome !== RETRY_AFTER_FLUSH) return outcome;
    }
  }

  /**
   * Serves new layers below the file (sidecar/layers/): one revision with
   * `source` when the served view changes, none when it does not. Rejects
   * (VALIDATION_FAILED) when the merged document fails the schema.
   */
  async submitLayers(layers: LowerLayers, source: RevisionSource): Promise<CommitResult> {
    if (this.refusal !== undefined && this.exempt?.([], source) !== true) throw this.refusal;
    const outcome = await this.enqueue([], source, 0, [], layers);
    if (outcome === RETRY_AFTER_FLUSH) return this.submitLayers(layers, source);
    return outcome;
  }

  /**
   * Queues a hand edit whose writes are computed from the working document
   * at its turn (so every write accepted before it is seen by the merge).
   * Resolves with revision 0 when there is nothing to change.
   */
  async submitEdit(derive: (working: JsonObject) => readonly WriteOp[], source: RevisionSource): Promise<CommitResult> {
    if (this.refusal !== undefined && this.exempt?.([], source) !== true) throw this.refusal;
    const outcome = await this.enqueue([], source, 0, [], undefined, derive);
    if (outcome === RETRY_AFTER_FLUSH) throw new Error('a hand edit has no preconditions to wait on');
    return outcome;
  }

  /** Resolves once everything submitted so far has been applied to the working copy (or refused). */
  applied(): Promise<void> {
    return this.lane;
  }

  private enqueue(
    ops: readonly WriteOp[],
    source: RevisionSource,
    bytes: number,
    guards: readonly Guard[],
    layers?: LowerLayers,
    derive?: (working: JsonObject) => readonly WriteOp[],
  ): Promise<CommitResult | typeof RETRY_AFTER_FLUSH> {
    return new Promise<CommitResult | typeof RETRY_AFTER_FLUSH>((resolve, reject) => {
      const write: PendingWrite = { ops, derive, source, bytes, revision: 0, results: [], changes: [], docChanges: [], guards, resolve, reject, ...(layers === undefined ? {} : { layers }) };
      // CONFLICT, BAD_REQUEST, LIMIT_EXCEEDED, VALIDATION_FAILED reject the write: nothing queued.
      this.inLane(async () => {
        if (derive !== undefined) {
          // The merge's ops may hold objects of the working copy: none of them is changed in place from here.
          this.owned.release();
          write.ops = derive(this.working.doc);
          if (write.ops.length === 0) return resolve({ revision: 0, results: [] });
        }
        let admitted: Promise<void> | undefined;
        try {
          admitted = this.applyToWorking(write);
        } catch (error) {
          if (!(error instanceof PreconditionFailed)) throw error;
          // Judged against what readers see, in the same turn (no flush can end in between):
          // a mismatch there is final; a match means a pending write is in the way.
          const committed = readPath(this.committedState, error.segments).modRevision;
          if (committed !== error.expected) throw new PreconditionFailed(error.segments, error.expected, committed);
          this.flushWaiters.push(() => resolve(RETRY_AFTER_FLUSH));
          return;
        }
        // No turn between applying a write and queueing it when it is checked at once.
        if (admitted !== undefined) await admitted;
        if (this.halted !== undefined) throw this.halted;
        if (write.unchanged === true) {
          // Acknowledged at the current revision, but never before the value it equals is durable.
          // Layers that changed nothing served have nothing to make durable here (the fleet source keeps its own state).
          if (this.settled || write.layers !== undefined) resolve({ revision: write.revision, results: write.results });
          else this.flushWaiters.push(() => resolve(RETRY_AFTER_FLUSH));
          return;
        }
        this.pending.push(write);
        this.scheduleFlush();
      }).catch(reject);
    });
  }

  /** Runs `task` after every earlier lane task; its failure goes to the caller, not to later tasks. */
  private inLane(task: () => Promise<void>): Promise<void> {
    const run = this.lane.then(task);
    this.lane = run.then(
      () => undefined,
      () => undefined, // reported to the caller through `run`
    );
    return run;
  }

  /** Refuses new writes from now on with `error`, except those `exempt` lets through; queued ones still complete. */
  refuseWrites(error: ProtocolError, exempt?: (ops: readonly WriteOp[], source: RevisionSource) => boolean): void {
    this.refusal = error;
    this.exempt = exempt;
  }

  /** Takes back the refusal `error`, and only that one: a refusal made since (a stop) stays. */
  liftRefusal(error: ProtocolError): void {
    if (this.refusal !== error) return;
    this.refusal = undefined;
    this.exempt = undefined;
  }

  /** Resolves when every queued write has been flushed or failed. */
  async drain(): Promise<void> {
    for (;;) {
      await this.lane;
      if (this.flushing === undefined) return;
      await this.flushing;
    }
  }

  /**
   * Checks `write` against the working copy and applies it. Everything up to
   * the admission happens synchronously (a failed precondition throws at
   * once); the returned promise, when there is one, settles with the admission.
   */
  private applyToWorking(write: PendingWrite): Promise<void> | undefined {
    for (const op of write.ops) {
      if (op.op !== 'set') continue;
      const depth = parsePath(op.path).length + depthOf(op.value);
      if (depth > this.limits.maxDepth - 1) {
        throw new ProtocolError(
          ErrorCode.LIMIT_EXCEEDED,
          `the document would nest ${depth} levels deep, above maxDepth ${this.limits.maxDepth} less one for the response envelope; nothing was applied`,
          { limit: 'maxDepth', max: this.limits.maxDepth, actual: depth },
        );
      }
    }
    const base = write.layers === undefined ? this.working : { ...this.working, layers: write.layers };
    const owned = this.admission === undefined ? this.owned : undefined;
    const { state, results, changes, unchanged, bytes } = applyOps(base, write.ops, write.guards, owned);
    // A write that changes nothing makes no revision; except while writes are refused, when the few let
    // through repair the file (schema-fallback.ts) and must reach the disk even if memory already agrees.
    if (unchanged && this.refusal === undefined && write.layers === undefined) {
      owned?.settle(); // nothing was changed in place (no op changed anything)
      write.unchanged = true;
      write.revision = this.working.revision;
      write.results = results;
      return undefined;
    }
    const size = this.workingBytes + bytes;
    try {
      this.checkGrowth(write.ops, results, state);
      if (size > this.limits.maxDocumentBytes) {
        throw new ProtocolError(
          ErrorCode.LIMIT_EXCEEDED,
          `the document would be ${size} bytes, above maxDocumentBytes ${this.limits.maxDocumentBytes}; nothing was applied`,
          { limit: 'maxDocumentBytes', max: this.limits.maxDocumentBytes, actual: size },
        );
      }
    } catch (error) {
      owned?.rollback();
      throw error;
    }
    owned?.settle();
    const accept = (admitted: { state: StoreState; changes: Change[] }) => {
      if (write.layers !== undefined && admitted.changes.length === 0) {
        // New layers that leave the served view as it was: kept (readers see them when nothing is pending), but no revision.
        const settled = this.settled;
        this.working = { ...this.working, layers: write.layers, ...(admitted.state.view === undefined ? {} : { view: admitted.state.view }) };
        if (settled) {
          this.shareTrees(this.working);
        } else if (this.lastApplied?.after !== undefined) {
          // Served once the write it follows is committed (its flush may be running: flushLoop reads `after` when it ends).
          this.lastApplied.after = { ...this.lastApplied.after, state: this.working };
        }
        write.unchanged = true;
        // Answered at once (nothing of it waits for a flush): with the revision readers see.
        write.revision = this.committedState.revision;
        return;
      }
      this.working = admitted.state;
      this.workingBytes = size;
      write.after = { state: admitted.state, bytes: size };
      this.lastApplied = write;
      write.revision = admitted.state.revision;
      write.results = results;
      write.changes = admitted.changes;
      write.docChanges = changes;
    };
    if (this.admission === undefined) return void accept({ state, changes });
    return this.admission(state, this.working, changes).then(accept);
  }

  /** A set that added an element or key must leave its container within maxArrayLength. */
  private checkGrowth(ops: readonly WriteOp[], results: readonly OpResult[], next: StoreState): void {
    ops.forEach((op, index) => {
      if (op.op !== 'set' || results[index]!.existed) return;
      const parent = parsePath(op.path).slice(0, -1);
      const after = getAt(next.doc, parent);
      if (typeof after !== 'object' || after === null) return;
      const count = entryCount(after);
      if (count > this.limits.maxArrayLength) {
        throw new ProtocolError(
          ErrorCode.LIMIT_EXCEEDED,
          `${formatPath(parent) || '(root)'} would hold ${count} entries, above maxArrayLength ${this.limits.maxArrayLength}; nothing was applied`,
          { limit: 'maxArrayLength', max: this.limits.maxArrayLength, actual: count },
        );
      }
    });
  }

  private scheduleFlush(): void {
    if (this.flushing !== undefined) return;
    // setImmediate lets every write that arrived in this turn of the loop join the flush.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flushLoop())
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) this.scheduleFlush();
      });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      // The state after the batch's last write: a write admitted since (its admission ended in this turn) is not queued yet.
      const last = batch.at(-1)!;
      const { state: target, bytes: targetBytes } = last.after!;
      // Shared trees: the flush holds the working copy from here, so later writes copy what they change.
      if (this.committedOwned === undefined) this.owned.release();
      const group: FlushGroup = {
        first: batch[0]!.revision,
        last: last.revision,
        changes: batch.flatMap((w) => w.docChanges),
        onlyHandEdits: batch.every((w) => w.source === 'file' || w.source === 'reload'),
        anyHandEdit: batch.some((w) => w.source === 'file' || w.source === 'reload'),
      };
      try {
        await this.persist(target, this.committedState, group);
      } catch (error) {
        if (error instanceof OutcomeUnknown) {
          this.halt(error, batch.length);
          return;
        }
        await this.failBatch(batch, error);
        this.wakeFlushWaiters();
        continue;
      }
      // Shared trees: the state after the batch, with any layers change that came while it was written (same document).
      // Two trees: the committed one takes the group's changes now, in the same turn readers next see it.
      this.committedState =
        this.committedOwned === undefined ? last.after!.state : { ...target, doc: applyChanges(this.committedState.doc, group.changes, this.committedOwned) };
      this.committedBytes = targetBytes;
      this.counters.flushes++;
      this.counters.writes += batch.length;
      this.events.onCommitted?.(
        this.committedState,
        batch.map((w) => ({ revision: w.revision, source: w.source, changes: w.changes, bytes: Math.max(w.bytes, changeBytes(w.changes)) })),
        group,
      );
      for (const write of batch) write.resolve({ revision: write.revision, results: write.results });
      this.wakeFlushWaiters();
    }
  }

  /** Stops for good: the batch in flight stays unanswered, everything queued fails, nothing more is taken. */
  private halt(error: OutcomeUnknown, inFlight: number): void {
    this.counters.failedFlushes++;
    const failure = new ProtocolError(ErrorCode.WRITE_FAILED, `the config file could not be written: ${describe(error)}; nothing was applied`, {
      reason: describe(error),
    });
    this.refusal = failure;
    this.halted = failure;
    for (const write of this.pending.splice(0)) write.reject(failure);
    this.wakeFlushWaiters();
    this.events.onOutcomeUnknown?.(error, inFlight);
  }

  private wakeFlushWaiters(): void {
    for (const wake of this.flushWaiters.splice(0)) wake();
  }

  private async failBatch(batch: PendingWrite[], error: unknown): Promise<void> {
    this.counters.failedFlushes++;
    const failure = new ProtocolError(ErrorCode.WRITE_FAILED, `the config file could not be written: ${describe(error)}; nothing was applied`, {
      reason: describe(error),
      ...(osCode(error) === undefined ? {} : { osCode: osCode(error) }),
    });
    for (const write of batch) write.reject(failure);
    this.events.onFlushFailed?.(error, batch.length);
    // Back to what is on disk, then replay the writes that queued behind the failed flush.
    await this.inLane(async () => {
      this.shareTrees(this.committedState);
      this.workingBytes = this.committedBytes;
      const queued = this.pending;
      this.pending = [];
      for (const write of queued) {
        try {
          if (write.derive !== undefined) {
            this.owned.release(); // the merge's ops may hold objects of the working copy
            write.ops = write.derive(this.working.doc);
            if (write.ops.length === 0) {
              write.resolve({ revision: 0, results: [] });
              continue;
            }
          }
          await this.applyToWorking(write);
          if (write.unchanged === true) {
            // Without the failed write before it, it changes nothing: answered as enqueue answers such a write, never flushed.
            if (write.derive !== undefined) write.resolve({ revision: 0, results: [] }); // a hand edit with nothing left to apply
            else if (this.settled) write.resolve({ revision: write.revision, results: write.results });
            else this.flushWaiters.push(() => write.resolve(RETRY_AFTER_FLUSH));
            continue;
          }
          this.pending.push(write);
        } catch (replayError) {
          write.reject(replayError);
        }
      }
    });
  }
}

/**
 * What holding these changes costs, for history's memory budget: the size of
 * each changed value (a one-element edit of an array carries the whole array).
 */
function changeBytes(changes: readonly Change[]): number {
  let bytes = 0;
  for (const change of changes) bytes += change.segments.length * 8 + (knownBytes(change.value) ?? 16);
  return bytes;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function osCode(error: unknown): string | undefined {
  const code = (error as { osCode?: unknown; code?: unknown } | null)?.osCode ?? (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
