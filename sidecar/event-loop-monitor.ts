// Measures how long the event loop is held up (seeds 001: blocking I/O froze
// an async server). Reported in `stats` and bench results.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface DelaySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

const RESOLUTION_MS = 10;

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  summary(): DelaySummary {
    // Every sample includes the sampling interval itself; what is reported is the delay beyond it.
    const ms = (ns: number) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 1000) / 1000);
    return {
      p50Ms: ms(this.histogram.percentile(50)),
      p99Ms: ms(this.histogram.percentile(99)),
      maxMs: ms(this.histogram.max),
    };
  }

  reset(): void {
    this.histogram.reset();
  }
}
