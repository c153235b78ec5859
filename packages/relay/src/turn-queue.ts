// Work that arrives in bulk, done a slice per event-loop turn. ioredis emits every message of one
// socket read at once, and BullMQ hands over fetched jobs in batches; handled there and then, a
// batch keeps the event loop from noticing anything else (a client hanging up, a cancel broadcast)
// until it is done. Queued here instead, items are handled in order, in slices run from
// setImmediate: between two slices the event loop polls its sockets.
export interface TurnBudget {
  /** Items handled per slice at most. */
  maxItems?: number;
  /** Time one slice may run at most (ms; checked every 8 items). */
  maxMs?: number;
}

export class TurnQueue<T> {
  private items: T[] = [];
  /** Index of the next item to handle (items before it are done). */
  private next = 0;
  private scheduled = false;
  private readonly handle: (item: T) => void;
  private readonly maxItems: number;
  private readonly maxMs: number;

  constructor(handle: (item: T) => void, budget: TurnBudget) {
    this.handle = handle;
    this.maxItems = budget.maxItems ?? Number.POSITIVE_INFINITY;
    this.maxMs = budget.maxMs ?? Number.POSITIVE_INFINITY;
  }

  push(item: T): void {
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.runSlice);
  }

  /** Drop every item not handled yet. */
  clear(): void {
    this.items = [];
    this.next = 0;
  }

  private readonly runSlice = (): void => {
    const until = performance.now() + this.maxMs;
    for (let handled = 1; this.next < this.items.length; handled++) {
      this.handle(this.items[this.next++] as T);
      if (handled >= this.maxItems || ((handled & 7) === 0 && performance.now() >= until)) break;
    }
    if (this.next < this.items.length) {
      setImmediate(this.runSlice);
      return;
    }
    this.clear();
    this.scheduled = false;
  };
}
