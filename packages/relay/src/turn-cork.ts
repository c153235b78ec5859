// The writes of one event-loop turn, sent in one system call. A worker relays one small command per
// token, and the tokens of its many streams arrive in separate socket reads of one poll phase: with
// the relay socket corked until setImmediate (the check phase, right after the poll phase), they
// leave together in one writev instead of one write each. A lone token waits for nothing: its poll
// phase ends with it.
import type { Socket } from "node:net";

type Corkable = Pick<Socket, "cork" | "uncork">;

const corked = new WeakSet<Corkable>();

/** Cork the socket until the end of this event-loop turn's poll phase (no-op if already so). */
export function corkUntilNextTurn(socket: Corkable | undefined): void {
  if (!socket || corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  setImmediate(() => {
    corked.delete(socket);
    socket.uncork();
  });
}
