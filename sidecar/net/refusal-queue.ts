// Connections past maxConnections are refused a few per turn of the event
// loop: a flood of connects then cannot hold up, for the whole burst, the
// requests of the connections already served (their reads run between turns).
const PER_TURN = 16;

export class RefusalQueue {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;

  add(refuse: () => void): void {
    this.waiting.push(refuse);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.drain);
  }

  private readonly drain = (): void => {
    for (let i = 0; i < PER_TURN && this.waiting.length > 0; i++) this.waiting.shift()!();
    if (this.waiting.length > 0) setImmediate(this.drain);
    else this.scheduled = false;
  };
}
