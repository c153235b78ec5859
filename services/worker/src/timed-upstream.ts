// One upstream attempt with two clocks: a first token that never comes and a stream that stalls
// between chunks both end the attempt with upstream_timeout instead of hanging until the request's
// deadline. The openai SDK's own timeout only covers the response headers; an upstream that sends
// headers and then nothing would otherwise keep a voice user waiting in silence.
//
// The clocks are for streams. A non-streamed call has neither: its one answer legitimately comes
// after the whole of it is written, so it is bounded by `timeoutMs` (the request's deadline) instead.
import { GatewayError } from "@switchboard/protocol";
import type { Provider, UpstreamChunk } from "@switchboard/providers";

export interface TimedUpstreamOptions {
  provider: Provider;
  body: Record<string, unknown>;
  model: string;
  /** The request's own stop signal (client gone, deadline, shutdown). */
  signal: AbortSignal;
  /** Whether the client asked for a stream; only a streamed call runs the two clocks. */
  stream: boolean;
  /** Bounds a non-streamed call (UpstreamRequest.timeoutMs); a stream runs the two clocks instead. */
  timeoutMs?: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
}

export async function* timedUpstream(options: TimedUpstreamOptions): AsyncIterable<UpstreamChunk> {
  const { provider } = options;
  if (!options.stream) {
    yield* provider.stream({
      body: options.body,
      model: options.model,
      stream: false,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      signal: options.signal,
    });
    return;
  }
  const attempt = new AbortController();
  const forward = () => attempt.abort(options.signal.reason);
  if (options.signal.aborted) forward();
  options.signal.addEventListener("abort", forward, { once: true });
  // One timer per silence, not per chunk: a chunk only moves lastChunkAt, and the timer, when it
  // fires, re-arms itself for the time still left (10,000 chunks a second would otherwise mean
  // 10,000 timers created and cleared a second).
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let lastChunkAt = Date.now();
  const expire = () => {
    const limitMs = started ? options.idleTimeoutMs : options.firstTokenTimeoutMs;
    const leftMs = lastChunkAt + limitMs - Date.now();
    if (leftMs > 0) {
      timer = setTimeout(expire, leftMs);
      return;
    }
    const message = started
      ? `${provider.name} stalled for ${options.idleTimeoutMs} ms in the middle of the answer.`
      : `${provider.name} sent no first token within ${options.firstTokenTimeoutMs} ms.`;
    attempt.abort(new GatewayError("upstream_timeout", { message }));
  };
  timer = setTimeout(expire, options.firstTokenTimeoutMs);
  try {
    for await (const chunk of provider.stream({
      body: options.body,
      model: options.model,
      stream: true,
      signal: attempt.signal,
    })) {
      if (chunk.delta && !started) {
        started = true;
        lastChunkAt = Date.now();
        // The first token may come after less than the idle time: re-arm for the idle clock.
        clearTimeout(timer);
        timer = setTimeout(expire, options.idleTimeoutMs);
      } else if (started) lastChunkAt = Date.now();
      yield chunk;
    }
  } catch (error) {
    const reason: unknown = attempt.signal.reason;
    if (!options.signal.aborted && reason instanceof GatewayError) throw reason;
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener("abort", forward);
  }
}
