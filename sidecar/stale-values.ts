// Values already in the config that fail a disk check now (a directory it
// lists was removed, a program uninstalled). They are kept and served, and
// writes that leave them alone go on (docs/decisions.md, schemas); health
// names each one until it passes again or is changed. Looked at again when
// health is asked, at most once per interval, since the disk changes by itself.
import { ErrorCode, ProtocolError, type ValidationIssue } from '../protocol/index.js';
import type { ConfigSchema } from './config-schema.js';
import type { JsonObject } from './document.js';
import type { Health } from './health.js';
import type { Logger } from './logger.js';

const RECHECK_INTERVAL_MS = 1000;

export class StaleValues {
  private checkedAt = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly schema: ConfigSchema,
    private readonly configPath: string,
    /** The committed document. */
    private readonly current: () => JsonObject,
    private readonly health: Health,
    private readonly log: Logger,
  ) {}

  /** Records what a check just found (at start). */
  record(stale: readonly ValidationIssue[]): void {
    this.checkedAt = Date.now();
    this.health.staleValues = stale.map(
      (issue) => `${this.configPath}: ${issue.path}: ${issue.message}; the value is kept and served, and checked again when it is written`,
    );
    if (stale.length > 0) this.log.warn({ config: this.configPath, stale }, 'values in the config fail a disk check; kept');
  }

  /** Checks the committed document again unless it was checked within the interval; never rejects. */
  refresh(): Promise<void> {
    if (Date.now() - this.checkedAt < RECHECK_INTERVAL_MS) return Promise.resolve();
    this.running ??= this.recheck().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async recheck(): Promise<void> {
    const doc = this.current();
    try {
      this.record((await this.schema.check(doc, doc)).stale);
    } catch (error) {
      // A served document that does not match (a newer version's file) is reported as read-only, not here.
      if (!(error instanceof ProtocolError) || error.code !== ErrorCode.VALIDATION_FAILED) this.log.error({ err: error }, 'checking the config against the disk failed');
      this.record([]);
    }
  }
}
