// The benchmark's HTTP client: raw node:http with a keep-alive pool, so the load generator costs as
// little CPU as possible and the same client measures the mock and the gateway. Streams are read with
// the tests' SSE reader in its unparsed form (sseDataReader): a content token is found in an event's
// text without JSON.parse, which would cost the client about three times as much CPU per response.
import { Agent, request } from "node:http";
import { sseDataReader } from "@switchboard/testing";

export const agent = new Agent({ keepAlive: true, maxSockets: 4000 });

/** Where a request goes: a base URL, or a base URL with headers (a peer gateway's routing headers). */
export type Target = string | { url: string; headers: Record<string, string> };

function resolveTarget(target: Target, body: string): { url: string; headers: Record<string, string> } {
  const base = typeof target === "string" ? target : target.url;
  return {
    url: `${base}/chat/completions`,
    headers: {
      ...(typeof target === "string" ? {} : target.headers),
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
    },
  };
}

export interface StreamTiming {
  firstTokenMs: number;
  lastTokenMs: number;
  /** Time between consecutive content tokens; 0 when two arrived in the same read (merged). */
  gapsMs: number[];
  tokens: number;
  /** Tokens that arrived in the same socket read as the token before them (in its chunk or a later one). */
  mergedTokens: number;
}

const tokenMarker = '"content":"';

/** Content tokens in one event's data (JSON text, not parsed). */
function countTokens(data: string): number {
  let count = 0;
  for (let index = data.indexOf(tokenMarker); index >= 0; index = data.indexOf(tokenMarker, index + 1)) {
    // The first chunk of an answer carries an empty content with the role; it is not a token.
    if (data.startsWith('"', index + tokenMarker.length) === false) count++;
  }
  return count;
}

/** Reads a streamed answer: feed() counts the content tokens in the events each read completed. */
function tokenReader(): { feed(text: string): number; done(): boolean } {
  let tokens = 0;
  let done = false;
  const reader = sseDataReader((data) => {
    if (data === "[DONE]") done = true;
    else tokens += countTokens(data);
  });
  return {
    feed(text) {
      tokens = 0;
      reader.feed(text);
      return tokens;
    },
    done: () => done,
  };
}

/** One streamed chat completion; rejects on a non-200 answer, a missing [DONE], or a socket error. */
export function streamOnce(target: Target, body: string): Promise<StreamTiming> {
  const { url: baseUrl } = typeof target === "string" ? { url: target } : target;
  const { url, headers } = resolveTarget(target, body);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const timing: StreamTiming = { firstTokenMs: -1, lastTokenMs: -1, gapsMs: [], tokens: 0, mergedTokens: 0 };
    let previousTokenAt = -1;
    // A token came in an earlier 'data' event of the socket read now being handled: node:http gives
    // each chunk of a chunked answer its own 'data' event, synchronously, and the microtasks run
    // only once the whole read is handled.
    let tokenInThisRead = false;
    const reader = tokenReader();
    const outgoing = request(url, { method: "POST", agent, headers }, (response) => {
      response.setEncoding("utf8");
      if (response.statusCode !== 200) {
        response.resume();
        return reject(new Error(`HTTP ${response.statusCode} from ${baseUrl}`));
      }
      response.on("data", (text: string) => {
        const now = performance.now() - start;
        const tokens = reader.feed(text);
        if (tokens > 0) {
          if (timing.firstTokenMs < 0) timing.firstTokenMs = now;
          else timing.gapsMs.push(tokenInThisRead ? 0 : now - previousTokenAt);
          for (let extra = 1; extra < tokens; extra++) timing.gapsMs.push(0);
          timing.mergedTokens += tokens - 1 + (tokenInThisRead ? 1 : 0);
          timing.tokens += tokens;
          timing.lastTokenMs = now;
          previousTokenAt = now;
          if (!tokenInThisRead) {
            tokenInThisRead = true;
            queueMicrotask(() => {
              tokenInThisRead = false;
            });
          }
        }
      });
      response.on("end", () => {
        if (!reader.done()) return reject(new Error(`stream from ${baseUrl} ended without [DONE]`));
        if (timing.tokens === 0) return reject(new Error(`no token from ${baseUrl}`));
        resolve(timing);
      });
      response.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

/** One non-streamed chat completion; resolves with its latency in ms. */
export function completeOnce(target: Target, body: string): Promise<number> {
  const { url: baseUrl } = typeof target === "string" ? { url: target } : target;
  const { url, headers } = resolveTarget(target, body);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const outgoing = request(url, { method: "POST", agent, headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        if (response.statusCode !== 200 || !text.includes('"chat.completion"'))
          return reject(new Error(`HTTP ${response.statusCode} from ${baseUrl}: ${text.slice(0, 200)}`));
        resolve(performance.now() - start);
      });
      response.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

export interface ThroughputResult {
  requests: number;
  errors: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: number[];
}

/** Closed loop: `clients` clients each send the next request as soon as the last one is answered. */
export async function closedLoop(
  baseUrls: readonly Target[],
  body: string,
  clients: number,
  seconds: number,
): Promise<ThroughputResult> {
  const until = performance.now() + seconds * 1000;
  const latencyMs: number[] = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const baseUrl = baseUrls[next++ % baseUrls.length] as Target;
        try {
          latencyMs.push(await completeOnce(baseUrl, body));
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return {
    requests: latencyMs.length,
    errors,
    seconds: elapsed,
    requestsPerSecond: latencyMs.length / elapsed,
    latencyMs,
  };
}

export interface HeldResult {
  timings: StreamTiming[];
  errors: number;
  /** The first error's message, if any. */
  firstError?: string;
}

/**
 * `streams` streams held open for `seconds`: each client starts its next stream as soon as its last
 * one ends, so that many are always in flight. The clients' first starts are spread evenly over
 * `rampMs` (about one stream's length), so requests arrive as they do at steady concurrency rather
 * than in one simultaneous burst (the burst rows measure that).
 */
export async function heldStreams(
  baseUrls: readonly Target[],
  body: string,
  streams: number,
  seconds: number,
  rampMs: number,
): Promise<HeldResult> {
  const until = performance.now() + rampMs + seconds * 1000;
  const timings: StreamTiming[] = [];
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: streams }, async (_, index) => {
      await new Promise((resolve) => setTimeout(resolve, (rampMs * index) / streams));
      while (performance.now() < until) {
        try {
          timings.push(await streamOnce(baseUrls[index % baseUrls.length] as Target, body));
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  return { timings, errors, ...(firstError === undefined ? {} : { firstError }) };
}

export interface OpenStream {
  /** Resolves once `tokens` content tokens have arrived; rejects if the stream fails or ends first. */
  reached: Promise<void>;
  /** Destroys the client's socket (a caller hanging up); returns the wall-clock time of it, epoch ms. */
  hangUp(): number;
}

/**
 * A streamed request that the caller will hang up mid-stream. Uses its own socket (no keep-alive
 * pool), so hanging up closes exactly this request's connection.
 */
export function openStream(target: Target, body: string, tokens: number): OpenStream {
  const { url, headers } = resolveTarget(target, body);
  let received = 0;
  const reader = tokenReader();
  let markReached: () => void = () => {};
  let fail: (error: Error) => void = () => {};
  const reached = new Promise<void>((resolve, reject) => {
    markReached = resolve;
    fail = reject;
  });
  // A failure after the hang-up (the socket's own error) is expected; one before it is seen by whoever awaits.
  reached.catch(() => {});
  const outgoing = request(url, { method: "POST", agent: false, headers }, (response) => {
    response.setEncoding("utf8");
    if (response.statusCode !== 200) {
      let text = "";
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => fail(new Error(`HTTP ${response.statusCode} from ${url}: ${text.slice(0, 200)}`)));
      return;
    }
    response.on("data", (text: string) => {
      received += reader.feed(text);
      if (received >= tokens) markReached();
    });
    response.on("end", () => fail(new Error(`stream from ${url} ended after ${received} tokens`)));
    response.on("error", () => {});
  });
  outgoing.on("error", (error) => fail(error));
  outgoing.end(body);
  return {
    reached,
    hangUp() {
      outgoing.destroy();
      return performance.timeOrigin + performance.now();
    },
  };
}
