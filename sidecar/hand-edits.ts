// Turning a change of the file on disk into a revision. A valid edit is
// diffed against the committed document and committed as one revision
// (source 'file', or 'reload' for SIGHUP); the sidecar's own writes are
// recognised and skipped; an invalid edit is not applied: the last good state
// keeps being served, health says what is wrong and where, and the rejected
// text is kept in quarantine/. Re-reads never overlap (kodegen #18): requests
// arriving during one are coalesced into one more.
import { ErrorCode, ProtocolError } from '../protocol/index.js';
import { diffOps } from './diff-ops.js';
import type { CommitQueue, RevisionSource } from './commit-queue.js';
import type { ConfigFile } from './config-file.js';
import type { Health } from './health.js';
import type { Logger } from './logger.js';

const INVALID_SETTLE_MS = 150;

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

  private async loop(first: RevisionSource): Promise<void> {
    let source: RevisionSource | undefined = first;
    while (source !== undefined) {
      this.again = undefined;
      try {
        await this.reread(source);
      } catch (error) {
        this.health.fileProblem = `re-reading the file failed: ${(error as Error).message}`;
        this.log.error({ err: error }, 're-reading the config file failed');
      }
      source = this.again;
    }
  }

  private async reread(source: RevisionSource): Promise<void> {
    let found = await this.file.reread();
    if (found.kind === 'invalid') {
      // An editor that truncates and then writes shows an empty or partial file for a moment:
      // judge the text once it has stopped changing.
      await new Promise((resolve) => setTimeout(resolve, INVALID_SETTLE_MS));
      const later = await this.file.reread();
      if (later.kind !== 'invalid' || !later.raw.equals(found.raw)) found = later;
    }
    switch (found.kind) {
      case 'unchanged':
        this.health.fileProblem = null;
        return;
      case 'missing':
        this.health.fileProblem = 'the config file was removed from disk; the served config is written back at the next write';
        this.log.warn({ path: this.file.configPath }, 'config file removed');
        return;
      case 'invalid': {
        const keptAt = await this.file.keepRejected(found.raw);
        this.health.fileProblem = `hand edit rejected: ${found.problem}; the text is kept in ${keptAt}`;
        this.log.warn({ path: this.file.configPath, keptAt, problem: found.problem }, 'invalid hand edit not applied');
        this.counts.rejected++;
        return;
      }
    }
    const ops = diffOps(this.queue.committed.doc, found.doc);
    this.health.fileProblem = null;
    if (ops.length === 0) return this.onAgrees();
    try {
      const { revision } = await this.queue.submit(ops, source);
      this.log.info({ revision, source, paths: ops.length }, 'hand edit applied');
      this.counts.applied++;
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      // Text that parses but breaks the schema is kept too: the author's edit is never silently lost.
      const keptAt = error.code === ErrorCode.VALIDATION_FAILED ? await this.file.keepRejected(found.raw) : undefined;
      this.health.fileProblem = `hand edit rejected: ${error.code}: ${error.message}${keptAt === undefined ? '' : `; the text is kept in ${keptAt}`}`;
      this.log.warn({ code: error.code, reason: error.message, keptAt }, 'hand edit not applied');
      this.counts.rejected++;
    }
  }
}
