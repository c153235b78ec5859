// CLIENT_WRITE_TIMEOUT_MS: a client that stops reading a streamed answer (its receive window full,
// so this socket's write buffer stays above its high-water mark) is disconnected once it has taken
// no byte for that long. Its response then closes like any client that went away, so the request
// is cancelled and the upstream call closed, and the ingress stops buffering an answer nobody
// reads. A client that reads slowly makes progress and is left alone.
import type { Socket } from "node:net";

interface Stuck {
  /** Bytes whose writes had completed, and bytes still queued in libuv, when last seen moving. */
  flushed: number;
  queued: number;
  since: number;
}

/**
 * Bytes libuv still holds for the kernel. Node's writes complete a whole batch at once, so while the
 * kernel takes a large batch bit by bit only this count moves (net.Socket reads it as well).
 */
function libuvQueued(socket: Socket): number {
  return (socket as Socket & { _handle?: { writeQueueSize?: number } | null })._handle?.writeQueueSize ?? 0;
}

export class WriteTimeoutWatch {
  private readonly sockets = new Set<Socket>();
  private readonly stuck = new Map<Socket, Stuck>();
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;
  private readonly onTimeout: (socket: Socket, bufferedBytes: number) => void;

  constructor(timeoutMs: number, onTimeout: (socket: Socket, bufferedBytes: number) => void) {
    this.timeoutMs = timeoutMs;
    this.onTimeout = onTimeout;
    // A few checks per timeout: a stuck client is cut within about 1.25 × the timeout.
    this.timer = setInterval(() => this.check(), Math.max(25, Math.min(1000, timeoutMs / 4)));
    this.timer.unref();
  }

  watch(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      this.stuck.delete(socket);
    });
  }

  close(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    for (const socket of this.sockets) {
      if (!socket.writableNeedDrain) {
        this.stuck.delete(socket);
        continue;
      }
      // Writes completed (bytesWritten counts what is still buffered too), and what libuv still holds.
      const flushed = socket.bytesWritten - socket.writableLength;
      const queued = libuvQueued(socket);
      const seen = this.stuck.get(socket);
      if (!seen || flushed > seen.flushed || queued < seen.queued) {
        this.stuck.set(socket, { flushed, queued, since: now });
        continue;
      }
      if (now - seen.since < this.timeoutMs) continue;
      this.stuck.delete(socket);
      this.onTimeout(socket, socket.writableLength);
      // A reset, not a FIN: the kernel drops what it still holds for this client at once instead of
      // keeping it (and the socket) until a client that does not read has read it.
      socket.resetAndDestroy();
    }
  }
}
