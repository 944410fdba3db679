// Measures how long the event loop is held up (docs/defects.md, D24: blocking I/O froze
// an async server). Reported in `stats` and bench results; the worst delay of
// the last minute or so also feeds `health`.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface DelaySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const RESOLUTION_MS = 10;
/** The recent window is this long at least, and twice this at most. */
const WINDOW_MS = 30_000;

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private recent: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private previousWindowMaxNs = 0;
  private rotation: NodeJS.Timeout | undefined;

  constructor(private readonly windowMs = WINDOW_MS) {}

  start(): void {
    this.histogram.enable();
    this.recent.enable();
    this.rotation = setInterval(() => {
      this.previousWindowMaxNs = this.recent.max;
      this.recent.reset();
    }, this.windowMs).unref();
  }

  stop(): void {
    clearInterval(this.rotation);
    this.histogram.disable();
    this.recent.disable();
  }

  /** The longest the loop was held up in the last one or two windows (ms beyond the sampling interval). */
  recentMaxMs(): number {
    return beyondInterval(Math.max(this.previousWindowMaxNs, this.recent.max));
  }

  summary(): DelaySummary {
    return {
      p50Ms: beyondInterval(this.histogram.percentile(50)),
      p99Ms: beyondInterval(this.histogram.percentile(99)),
      maxMs: beyondInterval(this.histogram.max),
    };
  }
}

/** Every sample includes the sampling interval itself; what is reported is the delay beyond it (ms). */
function beyondInterval(ns: number): number {
  return Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 1000) / 1000);
}
