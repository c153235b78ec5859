// For a client that did not ask for a stream, the ingress only concatenates the deltas, so relaying
// each one as its own event buys nothing and costs a Redis script, a pub/sub message and the
// ingress's decoding per token: most of the gateway's CPU per non-streamed request. Content-only
// deltas that arrive in the same event-loop turn (one network read from the upstream) are relayed
// as one. Streamed answers never pass through here: their tokens go out one by one.
import { encodeDelta, type ChunkDelta } from "@switchboard/protocol";

export class DeltaCoalescer {
  private readonly emit: (frame: string) => void;
  private content: string[] = [];
  private scheduled = false;

  constructor(emit: (frame: string) => void) {
    this.emit = emit;
  }

  add(delta: ChunkDelta): void {
    const keys = Object.keys(delta);
    if (keys.length === 1 && typeof delta.content === "string") {
      this.content.push(delta.content);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
      return;
    }
    this.flush();
    this.emit(encodeDelta(delta));
  }

  /** Relay what is held now (before any other event, so the order is kept). */
  flush(): void {
    this.scheduled = false;
    if (this.content.length === 0) return;
    const content = this.content.join("");
    this.content = [];
    this.emit(encodeDelta({ content }));
  }
}
