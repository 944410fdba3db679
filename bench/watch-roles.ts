// What the two watch-workload workers (watch-worker.ts through the client
// library, raw-watch-worker.ts on bare connections) share: their options,
// their clock and the result they report.
import { performance } from 'node:perf_hooks';
import type { HistogramData } from './latency-histogram.js';

/** --role watcher|writer; --watchers per watcher process; the writer's --interval-ms and --duration-ms. */
export const WATCH_WORKER_OPTIONS = {
  socket: { type: 'string' },
  role: { type: 'string' },
  watchers: { type: 'string', default: '25' },
  'interval-ms': { type: 'string', default: '5' },
  'duration-ms': { type: 'string', default: '5000' },
} as const;

/** The system clock with sub-millisecond resolution, shared by all processes: receipt − send is a latency. */
export const now = (): number => performance.timeOrigin + performance.now();

export interface WatchWorkerResult {
  role: string;
  events: number;
  resyncs: number;
  latency: HistogramData;
  /** Pairs [revision, latency ms]: for the writer, each set's send → acknowledgement; for a watcher, each delivery's send → receipt. */
  byRevision: number[];
}
