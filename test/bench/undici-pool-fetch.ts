// A candidate transport for the worker's upstream call, measured by provider-overhead.ts against the
// production one (packages/providers/src/node-fetch.ts): a `fetch` for the openai SDK on undici's
// `Pool.request` (one keep-alive pool per upstream origin, HTTP/1.1, no fetch spec machinery). Its
// body is undici's Node stream, given to the caller through `poolResponseBody` so the SSE loop reads
// it without web streams, as the production fetch does with `nodeResponseBody`. Only what the
// benchmark needs: string bodies, http(s) origins, an abort signal.
import type { Readable } from "node:stream";
import { Pool } from "undici";

const poolBodies = new WeakMap<Response, Readable>();

/** The body of a response from `createUndiciPoolFetch` as a Node stream. */
export function poolResponseBody(response: Response): Readable | undefined {
  return poolBodies.get(response);
}

export function createUndiciPoolFetch(): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  const pools = new Map<string, Pool>();
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    let pool = pools.get(url.origin);
    if (!pool) {
      pool = new Pool(url.origin, { keepAliveTimeout: 4_000 });
      pools.set(url.origin, pool);
    }
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const answer = await pool.request({
      path: url.pathname + url.search,
      method: (init?.method ?? "GET") as "POST",
      headers,
      body: typeof init?.body === "string" ? init.body : null,
      signal: init?.signal ?? null,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers))
      for (const item of Array.isArray(value) ? value : [value])
        if (item !== undefined) responseHeaders.append(name, item);
    const body = answer.body as unknown as Readable;
    // A web body is made only if someone reads it (the SDK reads an error body as text).
    let iterator: AsyncIterator<Uint8Array> | undefined;
    const response = new Response(
      new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            iterator ??= body[Symbol.asyncIterator]();
            const next = await iterator.next();
            if (next.done) controller.close();
            else controller.enqueue(next.value as Uint8Array);
          },
          cancel: () => void body.destroy(),
        },
        { highWaterMark: 0 },
      ),
      { status: answer.statusCode, headers: responseHeaders },
    );
    poolBodies.set(response, body);
    return response;
  };
}
