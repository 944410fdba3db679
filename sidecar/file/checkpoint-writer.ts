// The config file as a checkpoint of the journal: after each commit (durable
// in the journal, already acknowledged) the file is rewritten in the
// background with everything committed so far, one rewrite at a time, the
// next starting as soon as one ends (commits made meanwhile coalesce into
// it). The text is rendered off the event loop (checkpoint-renderer.ts); the
// file itself is replaced by ConfigFile (checked against hand edits, fenced,
// durable). A rewrite that fails is retried with a growing delay: nothing is
// lost (the journal holds it), health says the file lags. Callers that need
// the file to hold a revision (`waitForFile`) wait for it here.
import { ErrorCode, ProtocolError } from '../../protocol/index.js';
import { OutcomeUnknown } from '../store/commit-queue.js';
import type { Change } from '../store/store-state.js';
import type { CheckpointRenderer, Rendered } from './checkpoint-renderer.js';
import type { JsonObject } from '../store/document.js';
import { emptyLatency, observeLatency, type OpLatency } from '../ops/request-metrics.js';

/** The file no longer holds what the sidecar last wrote or took in (a hand edit): nothing was written. */
export class DiskChanged extends Error {
  override readonly name = 'DiskChanged';
}

/** What replaces the config file (ConfigFile). */
export interface CheckpointTarget {
  /**
   * Puts `rendered` in place of the config file, durably;
   * throws DiskChanged when the file holds an edit not taken in yet, an
   * OutcomeUnknown when this process no longer owns the file.
   */
  rewrite(rendered: Rendered, byClients: boolean): Promise<void>;
}

export interface CheckpointEvents {
  /** A rewrite found a hand edit: resolves once it has been taken in (committed or refused). */
  onDiskChanged(): Promise<void>;
  /** A rewrite failed (it is retried); `error` says why. */
  onFailed(error: unknown): void;
  /** The file holds everything committed again after a failure. */
  onCaughtUp(): void;
  /** Ownership was lost: nothing more is written. */
  onLost(error: OutcomeUnknown): void;
}

/** Rewrites in a row that find a new hand edit before the loop backs off (the file keeps changing). */
const MAX_TAKE_INS = 50;
const RETRY_MIN_MS = 50;
/** Failed rewrites in a row after which writes waiting for the file are answered FILE_LAGGING (one failure may be passing). */
const FAILURES_BEFORE_LAGGING = 3;
const RETRY_MAX_MS = 5000;
/**
 * When rewrites take longer than this on average (a large document), each is
 * followed by a pause twice that long: the rendering thread and the disk then
 * leave two thirds of their time to requests, at the price of a file that
 * trails by up to three rewrites' time. Small documents are rewritten back
 * to back. An average, not the last rewrite's time: one slow fsync of a small
 * file must not hold back the next rewrite (it would triple that commit's lag).
 */
const PACE_ABOVE_MS = 10;
const PACE_FACTOR = 2;
/** Weight of the newest rewrite in the average. */
const PACE_SMOOTHING = 0.2;
/**
 * For this long after a hand edit was taken in, or an editor's file beside
 * the config changed (a swap or lock file: someone has it open), rewrites
 * start at least HAND_EDIT_GAP_MS apart. An editor's save renamed into place
 * in the instant between a rewrite's check and its rename is overwritten
 * unseen (Node has no atomic exchange: docs/decisions.md, "Hand edits are
 * never overwritten"); the chance of that is the instant times the rewrite
 * rate, which back-to-back rewrites of a small file under a busy client put
 * at hundreds per second. While someone edits the file, the file trails by
 * up to this gap instead.
 */
const HAND_EDIT_QUIET_MS = 5000;
const HAND_EDIT_GAP_MS = 50;
/** Lag samples kept for percentiles. */
const LAG_SAMPLES = 4096;

/** A commit the file does not hold yet (its document is not kept: the renderer holds the newest one's). */
interface Committed {
  revision: number;
  at: number;
  byClients: boolean;
}

interface FileWaiter {
  revision: number;
  resolve(): void;
  reject(error: ProtocolError): void;
}

export class CheckpointWriter {
  /** The revision the config file holds (durably). */
  fileRevision: number;
  /** The newest committed revision. */
  private target: number;
  /** Commits the file does not hold yet, oldest first. */
  private pending: Committed[] = [];
  private running: Promise<void> | undefined;
  private waiters: FileWaiter[] = [];
  /** The last rewrite failed (set until one succeeds): why. */
  failure: string | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  readonly counters = { rewrites: 0, failedRewrites: 0 };
  /** Time from a commit until the file holds it. */
  readonly lag: OpLatency = emptyLatency();
  /** The latest LAG_SAMPLES lags, a ring. */
  private readonly lagSamples: number[] = [];
  private lagNext = 0;
  /** When a hand edit was last taken in, or an editor's file changed (performance.now()). */
  private handEditAt = -Infinity;
  /** When the last rewrite started. */
  private lastStarted = -Infinity;
  /** Rewrite time, averaged across rewrites (PACE_SMOOTHING): what pacing follows. */
  private averageMs: number | undefined;
  /** No rewrite starts before this (pacing after a long rewrite). */
  private pausedUntil = 0;

  constructor(
    private readonly renderer: CheckpointRenderer,
    private readonly target_: CheckpointTarget,
    private readonly events: CheckpointEvents,
    /** The revision the file holds at start (the served one: nothing to write until a commit). */
    startRevision: number,
  ) {
    this.fileRevision = startRevision;
    this.target = startRevision;
  }

  /** A commit is durable in the journal (`handEdit`: it takes in a hand edit): the file is brought up to it in the background. */
  committed(revision: number, changes: Change[], byClients: boolean, handEdit = !byClients): void {
    if (this.stopped) return;
    if (handEdit) this.handEditAt = performance.now();
    this.renderer.apply(revision, changes);
    this.target = revision;
    this.pending.push({ revision, at: performance.now(), byClients });
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** An editor has the file open (its swap or lock file changed): rewrites are spaced as after a hand edit. */
  editorActive(): void {
    this.handEditAt = performance.now();
  }

  /** Resolves once the file holds `revision` (or a later one); rejects FILE_LAGGING when a rewrite fails first. */
  fileHolds(revision: number): Promise<void> {
    if (this.fileRevision >= revision) return Promise.resolve();
    if (this.stopped) return Promise.reject(this.lagging(revision, 'the sidecar is stopping'));
    return new Promise<void>((resolve, reject) => this.waiters.push({ revision, resolve, reject }));
  }

  /** Resolves once the file holds everything committed so far, or a rewrite failed (the journal holds it: the next start catches up). */
  settle(): Promise<void> {
    return this.fileHolds(this.target).catch((error: unknown) => {
      if (!(error instanceof ProtocolError)) throw error;
      // Reported when the rewrite failed (onFailed): nothing committed is lost.
    });
  }

  /** Stops rewriting (after settle(), at a clean stop; or at once when ownership is lost). */
  stop(): void {
    this.stopped = true;
    this.wake?.();
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.lagging(waiter.revision, 'the sidecar stopped'));
  }

  /** Lag percentiles over the recent commits. */
  lagSummary(): OpLatency & { p50Ms: number | null; p99Ms: number | null } {
    const sorted = [...this.lagSamples].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    return { ...this.lag, counts: [...this.lag.counts], p50Ms: at(0.5), p99Ms: at(0.99) };
  }

  private async loop(): Promise<void> {
    let takeIns = 0;
    /** Before the next try after a failed rewrite. */
    let retryDelay = 0;
    let failures = 0;
    while (!this.stopped && this.fileRevision < this.target) {
      // The pacing outlives this loop (it ends whenever the file catches up): a commit right after must wait too.
      const now = performance.now();
      let wait = Math.max(retryDelay, this.pausedUntil - now);
      if (now - this.handEditAt < HAND_EDIT_QUIET_MS) wait = Math.max(wait, this.lastStarted + HAND_EDIT_GAP_MS - now);
      // Whole milliseconds and one more: a timer counts from the loop's cached, truncated clock and can fire up to 1 ms early.
      if (wait > 0) await this.sleep(Math.ceil(wait) + 1);
      if (this.stopped) return;
      const started = performance.now();
      try {
        const rendered = await this.renderer.render();
        const byClients = this.pending.some((entry) => entry.revision <= rendered.revision && entry.byClients);
        // The gap is kept between the file's rewrites themselves, however long the render before one took.
        this.lastStarted = performance.now();
        await this.target_.rewrite(rendered, byClients);
        this.landed(rendered.revision);
        takeIns = 0;
        failures = 0;
        retryDelay = 0;
        const ended = performance.now();
        const took = ended - started;
        this.averageMs = this.averageMs === undefined ? took : this.averageMs + PACE_SMOOTHING * (took - this.averageMs);
        this.pausedUntil = this.averageMs > PACE_ABOVE_MS ? ended + Math.min(PACE_FACTOR * this.averageMs, RETRY_MAX_MS) : 0;
      } catch (error) {
        if (error instanceof OutcomeUnknown) {
          this.stop();
          this.events.onLost(error);
          return;
        }
        if (error instanceof DiskChanged && takeIns++ < MAX_TAKE_INS) {
          this.handEditAt = performance.now();
          await this.events.onDiskChanged();
          continue;
        }
        this.counters.failedRewrites++;
        this.failure = (error as Error).message;
        this.events.onFailed(error);
        if (++failures >= FAILURES_BEFORE_LAGGING) for (const waiter of this.waiters.splice(0)) waiter.reject(this.lagging(waiter.revision, this.failure));
        retryDelay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, retryDelay * 2));
      }
    }
  }

  private landed(revision: number): void {
    this.counters.rewrites++;
    this.fileRevision = revision;
    const now = performance.now();
    while (this.pending.length > 0 && this.pending[0]!.revision <= revision) {
      const ms = now - this.pending.shift()!.at;
      observeLatency(this.lag, ms);
      this.lagSamples[this.lagNext] = ms;
      this.lagNext = (this.lagNext + 1) % LAG_SAMPLES;
    }
    if (this.failure !== undefined) {
      this.failure = undefined;
      this.events.onCaughtUp();
    }
    const ready = this.waiters.filter((waiter) => waiter.revision <= revision);
    this.waiters = this.waiters.filter((waiter) => waiter.revision > revision);
    for (const waiter of ready) waiter.resolve();
  }

  /** Waits `ms`, or less if the writer stops. */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private lagging(revision: number, why: string): ProtocolError {
    return new ProtocolError(
      ErrorCode.FILE_LAGGING,
      `revision ${revision} is committed (durable in the journal, served) but the config file does not hold it yet: ${why}`,
      { revision, fileRevision: this.fileRevision },
    );
  }
}
