// Counts of what happened since the sidecar started, for `stats`: refused
// connections, slow readers cut off, watch events and resyncs, hand edits by
// outcome, and how long flushes take. Each part is handed to the component
// that sees the event (session, watch hub, hand edits, commit queue's writer),
// which only increments it.
import { emptyLatency, observeLatency, type OpLatency } from './request-metrics.js';

/** Watch traffic, counted by the watch hub. */
export interface WatchCounts {
  /** Events sent (one per watch per revision touching it, replays included). */
  events: number;
  /** Watches that asked to resume and got a fresh snapshot instead (history compacted, or another epoch). */
  resyncs: number;
}

export class EventCounters {
  /** Connections refused before hello (maxConnections). */
  connectionsRefused = 0;
  /** Connections closed because their reader fell too far behind (maxOutboundBytes, maxTotalOutboundBytes). */
  slowReaderDisconnects = 0;
  readonly watches: WatchCounts = { events: 0, resyncs: 0 };
  /** Durable writes of the file, failed ones included: time from start to durable (or failed). */
  readonly flushDuration: OpLatency = emptyLatency();

  /** Runs one flush and records how long it took, whatever its outcome. */
  async timeFlush<T>(flush: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await flush();
    } finally {
      observeLatency(this.flushDuration, performance.now() - started);
    }
  }
}
