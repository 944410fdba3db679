// The async-iterator side of a watch, between the socket and a reader that
// may be slow.
import type { ChangeEvent } from './watches.js';
import { ABSENT, diffViews, type View } from './watch-view.js';

/**
 * The async-iterator side of a watch: a queue between the socket and a reader
 * that may be slow. Past `maxBufferedEvents` the queue is collapsed into one
 * resync event (the difference between what the reader last took and now),
 * so a stalled reader costs bounded memory and still misses nothing.
 */
export class WatchStream implements AsyncIterableIterator<ChangeEvent> {
  private queue: { event: ChangeEvent; viewAfter: View }[] = [];
  /** The value as the reader knows it: after the last event it took (or before the first one queued). */
  private delivered: View = ABSENT;
  private fed = false;
  private current: View = ABSENT;
  private waiter: (() => void) | undefined;
  private error: Error | undefined;
  private done = false;
  close: () => void = () => undefined;

  constructor(
    private readonly segments: string[],
    private readonly maxBuffered: number,
  ) {}

  push = (event: ChangeEvent, viewAfter: View, viewBefore: View = ABSENT): void => {
    if (!this.fed) {
      // With initial 'none' the reader starts from the value the watch started at, not from nothing.
      this.fed = true;
      this.delivered = viewBefore;
    }
    this.current = viewAfter;
    this.queue.push({ event, viewAfter });
    if (this.queue.length > this.maxBuffered) {
      const changes = diffViews(this.delivered, viewAfter, this.segments);
      this.queue = [{ event: { revision: event.revision, epoch: event.epoch, source: 'resync', changes, resync: true }, viewAfter }];
    }
    this.wake();
  };

  fail = (error: Error): void => {
    this.error = error;
    this.wake();
  };

  end(): void {
    this.done = true;
    this.wake();
  }

  async next(): Promise<IteratorResult<ChangeEvent>> {
    for (;;) {
      const item = this.queue.shift();
      if (item !== undefined) {
        this.delivered = item.viewAfter;
        return { value: item.event, done: false };
      }
      if (this.error !== undefined) throw this.error;
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
  }

  async return(): Promise<IteratorResult<ChangeEvent>> {
    this.close();
    this.queue = [];
    this.end();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The newest value seen at the path (after the last event received, delivered or not). */
  get value(): View {
    return this.current;
  }

  private wake(): void {
    this.waiter?.();
  }
}
