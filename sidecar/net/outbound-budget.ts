// The bound on bytes queued for all connections together: each connection is
// bounded by maxOutboundBytes, but a thousand readers that stop reading would
// still hold a thousand times that. Past maxTotalOutboundBytes the readers
// that have been behind longest are closed first (their clients resume by
// revision after reconnecting).

/** A connection as the budget sees it. */
export interface OutboundMember {
  /** Bytes written to it and not yet taken by its peer. */
  readonly pendingBytes: number;
  /** Since when it has had bytes pending (ms), or undefined while it keeps up. */
  readonly behindSince: number | undefined;
  /** Closes it at once, dropping what is queued; it leaves the budget. */
  cutOff(reason: string): void;
}

export class OutboundBudget {
  private totalBytes = 0;
  private readonly members = new Set<OutboundMember>();

  constructor(private readonly maxTotalBytes: number) {}

  /** Bytes pending over all connections. */
  get total(): number {
    return this.totalBytes;
  }

  join(member: OutboundMember): void {
    this.members.add(member);
  }

  /** The member is gone: what it still had pending no longer counts. */
  leave(member: OutboundMember): void {
    if (!this.members.delete(member)) return;
    this.totalBytes -= member.pendingBytes;
  }

  /** `bytes` more are pending; over the budget, the longest-behind readers are cut off until it holds. */
  grew(bytes: number): void {
    this.totalBytes += bytes;
    while (this.totalBytes > this.maxTotalBytes) {
      const slowest = this.slowest();
      if (slowest === undefined) return;
      slowest.cutOff(`all connections together hold more than maxTotalOutboundBytes ${this.maxTotalBytes} unread, and this reader has been behind longest`);
    }
  }

  shrank(bytes: number): void {
    this.totalBytes -= bytes;
  }

  private slowest(): OutboundMember | undefined {
    let found: OutboundMember | undefined;
    for (const member of this.members) {
      if (member.behindSince === undefined || member.pendingBytes === 0) continue;
      if (found === undefined || member.behindSince < found.behindSince!) found = member;
    }
    return found;
  }
}
