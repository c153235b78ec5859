// Paces job starts: at most `perTurn` jobs start their upstream call per event-loop turn.
//
// Starting a job (route, openai SDK request, fetch) is synchronous work of a millisecond or more,
// and BullMQ hands over a whole batch of fetched jobs at once: started there and then, 100 jobs
// kept the event loop busy for 300–450 ms in one go, while cancel broadcasts for running streams
// waited in the subscriber's socket. Released a few per turn (TurnQueue), the loop polls its
// sockets between two groups, so a cancel is heard within one group's time.
import { TurnQueue } from "@switchboard/relay";

export class StartPacer {
  private readonly starts: TurnQueue<() => void>;

  constructor(perTurn: number) {
    this.starts = new TurnQueue((start) => start(), { maxItems: perTurn });
  }

  /** Resolves when this job may start. */
  turn(): Promise<void> {
    return new Promise((resolve) => this.starts.push(resolve));
  }
}
