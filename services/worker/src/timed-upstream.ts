// One upstream attempt with two clocks: a first token that never comes and a stream that stalls
// between chunks both end the attempt with upstream_timeout instead of hanging until the request's
// deadline. The openai SDK's own timeout only covers the response headers; an upstream that sends
// headers and then nothing would otherwise keep a voice user waiting in silence.
import { GatewayError } from "@switchboard/protocol";
import type { Provider, UpstreamChunk } from "@switchboard/providers";

export interface TimedUpstreamOptions {
  provider: Provider;
  body: Record<string, unknown>;
  model: string;
  /** The request's own stop signal (client gone, deadline, shutdown). */
  signal: AbortSignal;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
}

export async function* timedUpstream(options: TimedUpstreamOptions): AsyncIterable<UpstreamChunk> {
  const { provider } = options;
  const attempt = new AbortController();
  const forward = () => attempt.abort(options.signal.reason);
  if (options.signal.aborted) forward();
  options.signal.addEventListener("abort", forward, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number, message: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => attempt.abort(new GatewayError("upstream_timeout", { message })), ms);
  };
  arm(options.firstTokenTimeoutMs, `${provider.name} sent no first token within ${options.firstTokenTimeoutMs} ms.`);
  let started = false;
  try {
    for await (const chunk of provider.stream({ body: options.body, model: options.model, signal: attempt.signal })) {
      if (chunk.delta) started = true;
      if (started) arm(options.idleTimeoutMs, `${provider.name} stalled for ${options.idleTimeoutMs} ms in the middle of the answer.`);
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
