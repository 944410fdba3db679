// Collects a watch's events and lets a test wait for the next ones, with a bound.
import type { ChangeEvent } from '../../client/index.js';

export interface WatchRecorder {
  events: ChangeEvent[];
  /** Resolves with the first `count` events once that many have arrived; rejects after `timeoutMs`. */
  next(count: number, timeoutMs?: number): Promise<ChangeEvent[]>;
}

export function recorder(stream: AsyncIterable<ChangeEvent>): WatchRecorder {
  const events: ChangeEvent[] = [];
  let wake: (() => void) | undefined;
  void (async () => {
    for await (const event of stream) {
      events.push(event);
      wake?.();
    }
  })();
  return {
    events,
    async next(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} of ${count} events within ${timeoutMs} ms: ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return events.slice(0, count);
    },
  };
}
