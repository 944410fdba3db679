// What `health` reports: ok / degraded / failing, with the reasons, built from
// facts other parts record here (docs/defects.md D25: failures must be visible).
import type { HealthResult } from '../../protocol/index.js';

/** A stall longer than this is worth an operator's look: every client waited that long. */
export const EVENT_LOOP_STALL_MS = 250;

export class Health {
  lastWriteAt: Date | null = null;
  writeErrors = 0;
  lastWriteError: string | null = null;
  /** The last flush failed and no flush has succeeded since. */
  writing = true;
  lockLost = false;
  /** Why writes are refused (a file from a newer schema version), or null. */
  readOnly: string | null = null;
  /** Why the config file trails the served config (a rewrite failed; every commit is durable in the journal), or null. */
  fileLagging: string | null = null;
  /** What is wrong with the file on disk (an invalid hand edit, a removed file), or null. */
  fileProblem: string | null = null;
  /** A hand edit's values were not applied where clients had changed the same paths; cleared by the next edit or an acknowledgement. */
  mergeConflict: string | null = null;
  /** Why the file on disk does not match the schema (it is served read-only from an earlier state meanwhile), or null. */
  schemaMismatch: string | null = null;
  /** Values in the config that fail a disk check now (kept and served): one reason each (stale-values.ts). */
  staleValues: string[] = [];
  /** Set when start-up rebuilt the served state (the file was unusable, missing or behind): an operator should look. */
  recoveredAtStart: string | null = null;
  /** state.json could not be read at start. */
  stateProblem: string | null = null;
  /** Earlier owners that still run although this one took over their stale lock (fenced off, but an operator should know). */
  deposedOwners: { pid: number; dir: string }[] = [];
  /** What the layers below the file report (sidecar/layers/): a layer not applied, etcd out of reach, values under locks. */
  layerReasons: () => string[] = () => [];

  recordWrite(): void {
    this.lastWriteAt = new Date();
    this.writing = true;
  }

  recordWriteError(message: string): void {
    this.writeErrors++;
    this.lastWriteError = message;
    this.writing = false;
  }

  report(configPath: string, memoryEqualsDisk: boolean, eventLoopRecentMaxMs = 0): Omit<HealthResult, 'epoch' | 'revision'> {
    const failing: string[] = [];
    const degraded: string[] = [];
    if (this.lockLost) failing.push('ownership lock lost: writes are refused');
    if (this.fileLagging !== null) degraded.push(this.fileLagging);
    if (!this.writing) degraded.push(`last write failed: ${this.lastWriteError}`);
    if (this.fileProblem !== null) degraded.push(this.fileProblem);
    if (this.mergeConflict !== null) degraded.push(this.mergeConflict);
    if (this.schemaMismatch !== null) degraded.push(this.schemaMismatch);
    degraded.push(...this.staleValues, ...this.layerReasons());
    if (this.recoveredAtStart !== null) degraded.push(this.recoveredAtStart);
    if (this.readOnly !== null) degraded.push(`read-only: ${this.readOnly}`);
    if (this.stateProblem !== null) degraded.push(this.stateProblem);
    for (const deposed of this.deposedOwners) {
      degraded.push(`the previous owner, pid ${deposed.pid}, lost its stale lock to this sidecar but still runs; it is fenced off (${deposed.dir}) and cannot write`);
    }
    if (eventLoopRecentMaxMs > EVENT_LOOP_STALL_MS) {
      degraded.push(`the event loop was held up for ${Math.round(eventLoopRecentMaxMs)} ms in the last minute (every request waited)`);
    }
    const status = failing.length > 0 ? 'failing' : degraded.length > 0 ? 'degraded' : 'ok';
    return {
      status,
      reasons: [...failing, ...degraded],
      configPath,
      fileValid: this.fileProblem === null && this.schemaMismatch === null,
      memoryEqualsDisk,
      lastWriteAt: this.lastWriteAt?.toISOString() ?? null,
      writeErrors: this.writeErrors,
      lastWriteError: this.lastWriteError,
      readOnly: this.readOnly !== null,
    };
  }
}
