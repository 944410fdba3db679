// Turning a change of the file on disk into a revision. A valid edit is
// merged three ways (three-way-merge.ts) against the version it started from
// and committed as one revision (source 'file', or 'reload' for SIGHUP); the
// sidecar's own writes are recognised and skipped; an invalid or oversized
// edit is not applied: the last good state keeps being served, health says
// what is wrong and where, and the rejected text is kept in quarantine/.
// Edits come from the directory watch and SIGHUP, and from a rewrite of the
// file that finds it changed before its rename (takeInFirst): no edit is
// overwritten.
// Re-reads from the watch never overlap: requests arriving during one are
// coalesced into one more.
import { closeSync } from 'node:fs';
import { ErrorCode, formatPath, ProtocolError } from '../../protocol/index.js';
import type { CommitQueue, RevisionSource } from '../store/commit-queue.js';
import type { ConfigFile, Reread } from './config-file.js';
import type { Health } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';
import { mergeEdit, type MergeConflict } from './three-way-merge.js';

/** An invalid text is judged once it has stayed the same this long (an editor's save may be half done). */
const INVALID_SETTLE_MS = 150;
/** An empty file is the usual middle of a save (truncate, then write): it is given longer. */
const EMPTY_SETTLE_MS = 1000;
/** Re-reads of a text that keeps changing before it is judged as it is. */
const MAX_SETTLE_READS = 20;

export class HandEdits {
  private running: Promise<void> | undefined;
  private again: RevisionSource | undefined;
  /** Outcomes of re-reads that found a change, for `stats`. */
  readonly counts = { applied: 0, rejected: 0, merged: 0 };

  constructor(
    private readonly file: ConfigFile,
    private readonly queue: CommitQueue,
    private readonly health: Health,
    private readonly log: Logger,
    /** A re-read found the file holding exactly the committed document (schema-fallback.ts leaves read-only then). */
    private readonly onAgrees: () => void = () => undefined,
  ) {}

  /** Re-reads the file (now, or right after the re-read in progress). Never rejects: outcomes go to health and logs. */
  request(source: RevisionSource): Promise<void> {
    if (this.running !== undefined) {
      this.again = this.again === 'reload' ? 'reload' : source;
      return this.running;
    }
    this.running = this.loop(source).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * A rewrite of the file found it changed before its rename: reads it and
   * takes the edit in; resolves once its revision is committed (or it was
   * refused), so the next rewrite holds it.
   */
  async takeInFirst(): Promise<void> {
    try {
      await (await this.take(await this.settledRead(), 'file'))?.done;
    } catch (error) {
      this.health.fileProblem = `re-reading the file failed: ${(error as Error).message}`;
      this.log.error({ err: error }, 're-reading the config file failed');
    }
  }

  /**
   * An editor rewrote the file in place just before a flush replaced it: its
   * text is read through `fd` (once it has stopped changing) and taken in
   * like any edit (the next flush writes the merge). Closes `fd`.
   */
  async takeOrphan(fd: number): Promise<void> {
    try {
      let raw = await this.file.readDescriptor(fd);
      for (let reads = 0; reads < MAX_SETTLE_READS; reads++) {
        await new Promise((resolve) => setTimeout(resolve, raw.length === 0 ? EMPTY_SETTLE_MS : INVALID_SETTLE_MS));
        const later = await this.file.readDescriptor(fd);
        if (later.equals(raw)) break;
        raw = later;
      }
      const judged = this.file.judge(raw);
      if (typeof judged === 'string') {
        const keptAt = await this.file.keepRejected(raw);
        this.counts.rejected++;
        this.health.fileProblem = `hand edit rejected: ${judged}; the text is kept in ${keptAt}`;
        this.log.warn({ path: this.file.configPath, keptAt, problem: judged }, 'invalid hand edit not applied');
        return;
      }
      await (await this.take({ kind: 'valid', doc: judged, raw }, 'file'))?.done;
    } catch (error) {
      this.health.fileProblem = `reading a hand edit the sidecar replaced failed: ${(error as Error).message}`;
      this.log.error({ err: error }, 'reading a hand edit from the replaced file failed');
    } finally {
      closeSync(fd);
    }
  }

  private async loop(first: RevisionSource): Promise<void> {
    let source: RevisionSource | undefined = first;
    while (source !== undefined) {
      this.again = undefined;
      try {
        await (await this.take(await this.settledRead(), source))?.done;
      } catch (error) {
        this.health.fileProblem = `re-reading the file failed: ${(error as Error).message}`;
        this.log.error({ err: error }, 're-reading the config file failed');
      }
      source = this.again;
    }
  }

  /**
   * Reads the file; an invalid text is read again until it has stayed the
   * same for a while (an editor that truncates and then writes shows an empty
   * or partial file for a moment), and only then judged.
   */
  private async settledRead(): Promise<Reread> {
    let found = await this.file.reread();
    for (let reads = 0; found.kind === 'invalid' && reads < MAX_SETTLE_READS; reads++) {
      await new Promise((resolve) => setTimeout(resolve, found.kind === 'invalid' && found.raw.length === 0 ? EMPTY_SETTLE_MS : INVALID_SETTLE_MS));
      const later = await this.file.reread();
      if (later.kind === 'invalid' && later.raw.equals(found.raw)) return later;
      found = later;
    }
    return found;
  }

  /** Deals with what a read found; for a valid edit, returns the promise of its revision (queued by then). */
  private async take(found: Reread, source: RevisionSource): Promise<{ done: Promise<void> } | undefined> {
    switch (found.kind) {
      case 'unchanged':
        this.health.fileProblem = null;
        return undefined;
      case 'seen':
        return undefined;
      case 'missing':
        // A config never written yet (a fresh start) is not removed: nothing to report.
        if (!this.file.hadFile) return undefined;
        this.health.fileProblem = 'the config file was removed from disk; the served config is written back at the next write';
        this.log.warn({ path: this.file.configPath }, 'config file removed');
        return undefined;
      case 'oversized': {
        const kept = found.keptAt === undefined ? 'it is too big to keep in quarantine/' : `a copy is kept in ${found.keptAt}`;
        this.health.fileProblem = `hand edit rejected: the file is ${found.size} bytes, above maxDocumentBytes ${this.file.maxDocumentBytes}; it was not read; ${kept}`;
        this.log.warn({ path: this.file.configPath, size: found.size, keptAt: found.keptAt }, 'hand edit over maxDocumentBytes not applied');
        this.counts.rejected++;
        return undefined;
      }
      case 'invalid': {
        const keptAt = await this.file.keepRejected(found.raw);
        this.file.markRejected(found);
        this.counts.rejected++;
        this.health.fileProblem = `hand edit rejected: ${found.problem}; the text is kept in ${keptAt}`;
        this.log.warn({ path: this.file.configPath, keptAt, problem: found.problem }, 'invalid hand edit not applied');
        return undefined;
      }
    }
    this.health.fileProblem = null;
    const edit = found.doc;
    // The version the edit started from; with none kept, the edit is taken as made from what is served.
    const base = this.file.versions.baseFor(edit, this.queue.snapshot().doc);
    let conflicts: MergeConflict[] = [];
    const submitted = this.queue.submitEdit((working) => {
      const merged = mergeEdit(base ?? working, working, edit);
      conflicts = merged.conflicts;
      return merged.ops;
    }, source);
    const done = submitted.then(
      ({ revision }) => {
        // Taken in, the text is a version the next edit may well be made from (before the merge is written).
        this.file.versions.add(edit, found.raw.length, false);
        if (revision === 0 && conflicts.length === 0) return this.onAgrees();
        this.counts.applied++;
        this.reportConflicts(conflicts, revision);
        if (revision !== 0) this.log.info({ revision, source }, 'hand edit applied');
      },
      async (error: unknown) => {
        if (!(error instanceof ProtocolError)) throw error;
        this.file.refuseEdit(found.raw);
        // Text that parses but breaks the schema is kept too: the author's edit is never silently lost.
        const keptAt = error.code === ErrorCode.VALIDATION_FAILED ? await this.file.keepRejected(found.raw) : undefined;
        this.health.fileProblem = `hand edit rejected: ${error.code}: ${error.message}${keptAt === undefined ? '' : `; the text is kept in ${keptAt}`}`;
        this.log.warn({ code: error.code, reason: error.message, keptAt }, 'hand edit not applied');
        this.counts.rejected++;
      },
    );
    return { done };
  }

  /** Paths both a client and the edit changed keep the client's value; the edit's is reported until acknowledged. */
  private reportConflicts(conflicts: MergeConflict[], revision: number): void {
    // An edit applied acknowledges the conflicts reported before it.
    this.health.mergeConflict = null;
    if (conflicts.length === 0) return;
    this.counts.merged++;
    const paths = conflicts.map((conflict) => formatPath(conflict.path) || '(root)');
    const edit = Object.fromEntries(conflicts.map((conflict) => [formatPath(conflict.path) || '(root)', conflict.edit.exists ? conflict.edit.value : '(deleted)']));
    this.health.mergeConflict =
      `a hand edit conflicted with client writes at ${paths.join(', ')}: the client values were kept and the edit's were not applied ` +
      `(see the log); acknowledge with \`config-sidecar health --ack\` or a new edit`;
    this.log.warn({ revision, paths, edit }, 'hand edit conflicted with client writes: the client values were kept');
  }
}
