// Values already in the config that fail a disk check now (a directory it
// lists was removed, a program uninstalled). They are kept and served, and
// writes that leave them alone go on (docs/decisions.md, schemas); health
// names each one until it passes again or is changed. Looked at again each
// time health is asked (the disk changes by itself); concurrent asks share one look.
import { ErrorCode, ProtocolError, type ValidationIssue } from '../../protocol/index.js';
import type { ConfigSchema } from './config-schema.js';
import type { JsonObject } from '../store/document.js';
import type { Health } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';

export class StaleValues {
  private reported = '';
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
    this.health.staleValues = stale.map(
      (issue) => `${this.configPath}: ${issue.path}: ${issue.message}; the value is kept and served, and checked again when it is written`,
    );
    // Logged when the set changes, not at every health call.
    const reported = this.health.staleValues.join('\n');
    if (reported !== this.reported && stale.length > 0) this.log.warn({ config: this.configPath, stale }, 'values in the config fail a disk check; kept');
    this.reported = reported;
  }

  /** Checks the committed document against the disk again; never rejects. */
  refresh(): Promise<void> {
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
