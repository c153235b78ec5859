// MAX_CONNECTIONS for one ingress: every connection is counted, and one accepted above the limit
// is answered 503 connection_limit (with Retry-After) on its first request and closed, rather than
// dropped without a word. Far above it (a tenth more, at least 100), Node's own maxConnections
// closes new sockets at once: a flood of connections that never send a request cannot make the
// process hold them all. Keep-alive connections idle for KEEP_ALIVE_TIMEOUT_MS are closed by Node;
// each such close is reported too.
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "@switchboard/telemetry";

export type ConnectionCloseReason = "limit" | "idle_timeout" | "dropped" | "write_timeout";

/** Refusals are logged at most this often, with how many there were since the last line. */
const refusalLogIntervalMs = 10_000;

export class ConnectionCap {
  private openCount = 0;
  private readonly overLimit = new WeakSet<Socket>();
  private refusedSinceLog = 0;
  private lastLogAt = 0;
  private readonly max: number;
  private readonly log: Logger;
  private readonly onClosed: (reason: ConnectionCloseReason) => void;

  constructor(max: number, log: Logger, onClosed: (reason: ConnectionCloseReason) => void) {
    this.max = max;
    this.log = log;
    this.onClosed = onClosed;
  }

  /** Count the server's connections; the server also closes any beyond the hard limit itself. */
  attach(server: Server): void {
    server.maxConnections = this.max + Math.max(100, Math.ceil(this.max / 10));
    server.on("drop", () => {
      this.onClosed("dropped");
      this.noteRefusal();
    });
    server.on("connection", (socket: Socket) => {
      this.openCount++;
      if (this.openCount > this.max) this.overLimit.add(socket);
      socket.once("close", () => this.openCount--);
      // The HTTP server sets a socket timeout only between requests on a kept-alive connection
      // (server.timeout is 0), and closes the socket when it fires.
      socket.on("timeout", () => this.onClosed("idle_timeout"));
    });
  }

  get open(): number {
    return this.openCount;
  }

  /** Was this connection accepted above MAX_CONNECTIONS? Then it is counted, and its request refused. */
  refuses(socket: Socket): boolean {
    if (!this.overLimit.has(socket)) return false;
    this.onClosed("limit");
    this.noteRefusal();
    return true;
  }

  private noteRefusal(): void {
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastLogAt < refusalLogIntervalMs) return;
    this.log.warn("connection limit reached: connections refused", {
      maxConnections: this.max,
      open: this.openCount,
      refused: this.refusedSinceLog,
    });
    this.lastLogAt = now;
    this.refusedSinceLog = 0;
  }
}
