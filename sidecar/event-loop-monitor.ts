// Measures how long the event loop is held up (seeds 001: blocking I/O froze
// an async server). Reported in `stats` and bench results.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface DelaySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class EventLoopMonitor {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  summary(): DelaySummary {
    const ms = (ns: number) => Math.round((ns / 1e6) * 1000) / 1000;
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
