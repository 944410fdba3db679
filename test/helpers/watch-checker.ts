// Checks one watcher's stream against etcd's watch guarantees and the
// writers' log of acknowledged revisions: within an epoch revisions strictly
// increase, none twice, and every acknowledged revision after the watch began
// was delivered (or is covered by a resync event). Returns the problems found.
import type { WatchRecord } from './client-worker.js';

/** [key, value, revision, epoch] of every acknowledged write. */
export type WriteLog = [string, number, number, string][];

export function checkWatchStream(record: WatchRecord, writes: WriteLog): string[] {
  const problems: string[] = [];
  let epoch = record.startEpoch;
  let last = record.startRevision;
  const seen = new Map<string, Set<number>>();
  const resyncedThrough = new Map<string, number>();
  for (const [revision, eventEpoch, resync] of record.events) {
    if (eventEpoch !== epoch) {
      if (!resync) problems.push(`epoch changed to ${eventEpoch} at revision ${revision} without a resync`);
      epoch = eventEpoch;
      last = 0;
    }
    if (revision <= last) problems.push(`revision ${revision} after ${last} in epoch ${epoch}`);
    const revisions = seen.get(epoch) ?? new Set<number>();
    if (revisions.has(revision)) problems.push(`revision ${revision} delivered twice`);
    revisions.add(revision);
    seen.set(epoch, revisions);
    if (resync) resyncedThrough.set(epoch, Math.max(resyncedThrough.get(epoch) ?? 0, revision));
    else if (revision !== last + 1 && last !== 0) problems.push(`gap: ${last} then ${revision} without a resync`);
    last = revision;
  }
  for (const [key, , revision, writeEpoch] of writes) {
    if (writeEpoch === record.startEpoch && revision <= record.startRevision) continue; // before the watch began
    const delivered = seen.get(writeEpoch)?.has(revision) ?? false;
    const covered = revision <= (resyncedThrough.get(writeEpoch) ?? 0);
    if (!delivered && !covered) problems.push(`acknowledged write ${key} at ${writeEpoch}/${revision} never delivered`);
  }
  return problems;
}
