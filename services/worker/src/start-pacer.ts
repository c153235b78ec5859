// Paces job starts: at most `perTurn` jobs start their upstream call per event-loop turn.
//
// Starting a job (route, openai SDK request, fetch) is synchronous work of a millisecond or more,
// and BullMQ hands over a whole batch of fetched jobs at once: started there and then, 100 jobs
// kept the event loop busy for 300–450 ms in one go, while cancel broadcasts for running streams
// waited in the subscriber's socket. Released a few per turn (from setImmediate), the loop polls
// its sockets between two groups, so a cancel is heard within one group's time.
export class StartPacer {
  private readonly perTurn: number;
  private waiting: Array<() => void> = [];
  private scheduled = false;

  constructor(perTurn: number) {
    this.perTurn = perTurn;
  }

  /** Resolves when this job may start. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(this.release);
    });
  }

  private readonly release = (): void => {
    const group = this.waiting.length <= this.perTurn ? this.waiting : this.waiting.slice(0, this.perTurn);
    this.waiting = this.waiting.length <= this.perTurn ? [] : this.waiting.slice(this.perTurn);
    for (const resolve of group) resolve();
    if (this.waiting.length > 0) setImmediate(this.release);
    else this.scheduled = false;
  };
}
