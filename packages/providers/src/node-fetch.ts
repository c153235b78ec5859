// A `fetch` for the openai SDK built on node:http / node:https with keep-alive agents, so the
// worker's upstream call skips undici's fetch and web streams (see docs/performance.md). The SDK
// still builds, sends and checks every request; this only moves the bytes.
//
// Kept after measuring the alternatives (`npm run bench:upstream`, docs/performance.md "Upstream
// transport"): per streamed 20-token answer, Node's global fetch and the undici 8 package's fetch
// cost 1.2-1.5x this one's CPU (1.16 against 0.95 ms with 50 calls in flight; 3.1 against 2.1 ms
// one at a time), and undici's Pool.request the same as this one (0.929 against 0.927 ms).
//
// The Response it returns carries a lazily pulled web body (nothing is read into it unless someone
// reads it, e.g. the SDK's `response.text()` of an error body), and the same bytes as a Node
// stream through `nodeResponseBody(response)`: the provider's per-token loop reads that, with no
// web-stream conversion. Read one or the other, never both.
//
// Behaviour kept from the global fetch, which the SDK relies on:
// - an aborted signal rejects the call, or errors the body, with the signal's reason (a DOMException
//   named AbortError when no reason was given: the SDK's timeout), and destroys the socket at once;
// - a failed connection rejects with TypeError("fetch failed") whose cause is the socket error;
// - gzip, deflate and br bodies are decoded (the request asks for `identity` unless the caller set
//   accept-encoding, so upstreams normally send none: compression would delay streamed tokens).
// - an HTTP(S) proxy from HTTP_PROXY / HTTPS_PROXY / NO_PROXY when NODE_USE_ENV_PROXY=1, as Node
//   24 does for its own fetch and global agents (Node's built-in proxy support: absolute-form
//   requests for http, a CONNECT tunnel for https).
// Out of scope: redirects (a 3xx is returned as it is; the SDK reports it as an error status), HTTP/2.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { pipeline, type Readable, type Transform } from "node:stream";
import { constants, createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

const nodeBodies = new WeakMap<Response, Readable>();

/** The body of a response from `createNodeFetch` as a Node stream; undefined for any other response. */
export function nodeResponseBody(response: Response): Readable | undefined {
  return nodeBodies.get(response);
}

export interface NodeFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Closes the idle keep-alive sockets (open requests go on). */
  close(): void;
}

/** Statuses whose Response may not have a body. */
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);
const noop = () => {};

export interface NodeFetchOptions {
  /**
   * How long an idle socket is kept for reuse (default 4 s, as the global fetch keeps them); a
   * server's shorter `Keep-Alive: timeout` hint wins, less 1 s, so a socket the server is about to
   * close is not reused. A request in progress is never cut by it.
   */
  idleSocketMs?: number;
  /**
   * Proxy settings (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), read by Node's agents. Default: the
   * process's environment when NODE_USE_ENV_PROXY=1, else none (Node's own rule for its fetch).
   */
  proxyEnv?: NodeJS.ProcessEnv | undefined;
}

export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  // No socket cap (maxSockets is Infinity by default), idle sockets kept and reused, most recent first.
  const proxyEnv =
    "proxyEnv" in options ? options.proxyEnv : process.env.NODE_USE_ENV_PROXY === "1" ? process.env : undefined;
  const agentOptions = {
    keepAlive: true,
    scheduling: "lifo",
    timeout: options.idleSocketMs ?? 4_000,
    ...(proxyEnv ? { proxyEnv } : {}),
  } as const;
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
  const nodeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let href: string;
    let method = init?.method ?? "GET";
    let headers = init?.headers;
    let body: Buffer | undefined;
    let signal = init?.signal ?? undefined;
    const given = init?.body;
    if (
      (typeof input === "string" || input instanceof URL) &&
      (given === undefined ||
        given === null ||
        typeof given === "string" ||
        given instanceof Uint8Array ||
        given instanceof ArrayBuffer)
    ) {
      href = String(input);
      if (typeof given === "string") body = Buffer.from(given, "utf8");
      else if (given instanceof Uint8Array) body = Buffer.from(given.buffer, given.byteOffset, given.byteLength);
      else if (given instanceof ArrayBuffer) body = Buffer.from(given);
    } else {
      // Anything else (a Request, FormData, a stream, a Blob): let the platform's Request encode it.
      const request = new Request(input, init?.body ? ({ ...init, duplex: "half" } as RequestInit) : init);
      href = request.url;
      method = request.method;
      headers = request.headers;
      signal = init?.signal ?? request.signal;
      if (request.body) body = Buffer.from(await request.arrayBuffer());
    }
    const url = new URL(href);
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:")
      throw new TypeError("fetch failed", { cause: new Error(`unsupported protocol ${url.protocol}`) });
    const outgoing: Record<string, string> = {};
    // The openai SDK hands a Headers it built: read it as it is, rather than copying it first.
    (headers instanceof Headers ? headers : new Headers(headers)).forEach((value, name) => {
      outgoing[name] = value;
    });
    outgoing["accept-encoding"] ??= "identity";
    if (body) outgoing["content-length"] = String(body.length);
    if (signal?.aborted) throw abortReason(signal);

    return new Promise<Response>((resolve, reject) => {
      const options = {
        protocol: url.protocol,
        hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: method.toUpperCase(),
        headers: outgoing,
      };
      const request: ClientRequest = secure
        ? httpsRequest({ ...options, agent: agents.https })
        : httpRequest({ ...options, agent: agents.http });
      let source: Readable | undefined;
      let settled = false;
      const onAbort = () => {
        const reason = abortReason(signal as AbortSignal);
        source?.destroy(reason as Error);
        request.destroy();
        if (!settled) {
          settled = true;
          reject(reason);
        }
      };
      const stopListening = () => signal?.removeEventListener("abort", onAbort);
      signal?.addEventListener("abort", onAbort, { once: true });
      request.on("error", (error) => {
        stopListening();
        if (settled) return;
        settled = true;
        reject(new TypeError("fetch failed", { cause: error }));
      });
      request.on("response", (response: IncomingMessage) => {
        settled = true;
        const status = response.statusCode ?? 0;
        const responseHeaders = new Headers();
        const raw = response.rawHeaders;
        for (let index = 0; index < raw.length; index += 2)
          responseHeaders.append(raw[index] as string, raw[index + 1] as string);
        if (nullBodyStatuses.has(status) || method.toUpperCase() === "HEAD") {
          response.resume();
          stopListening();
          resolve(new Response(null, { status, statusText: response.statusMessage ?? "", headers: responseHeaders }));
          return;
        }
        source = decoded(response, responseHeaders.get("content-encoding"));
        source.on("error", noop);
        source.once("close", stopListening);
        const result = new Response(lazyWebBody(source), {
          status,
          statusText: response.statusMessage ?? "",
          headers: responseHeaders,
        });
        nodeBodies.set(result, source);
        resolve(result);
      });
      request.end(body);
    });
  };
  return Object.assign(nodeFetch, {
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  });
}

/** What an aborted signal rejects with: its reason, or an AbortError when it has none. */
function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

/** The response's bytes, decoded when the upstream compressed them (flushed as they come: SSE). */
function decoded(response: IncomingMessage, encoding: string | null): Readable {
  response.on("error", noop);
  const coding = encoding?.trim().toLowerCase();
  const zlibFlush = { flush: constants.Z_SYNC_FLUSH, finishFlush: constants.Z_SYNC_FLUSH };
  let decoder: Transform;
  if (coding === "gzip" || coding === "x-gzip") decoder = createGunzip(zlibFlush);
  else if (coding === "deflate") decoder = createInflate(zlibFlush);
  else if (coding === "br")
    decoder = createBrotliDecompress({
      flush: constants.BROTLI_OPERATION_FLUSH,
      finishFlush: constants.BROTLI_OPERATION_FLUSH,
    });
  else return response; // identity, or an unknown coding passed through as it is (as the global fetch does)
  // An error on either side (a reset socket, corrupt data, an abort) destroys both.
  pipeline(response, decoder, noop);
  return decoder;
}

/** A web ReadableStream that reads from the Node stream only when pulled (highWaterMark 0). */
function lazyWebBody(source: Readable): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Buffer> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        iterator ??= source[Symbol.asyncIterator]();
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
      },
      cancel() {
        source.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
