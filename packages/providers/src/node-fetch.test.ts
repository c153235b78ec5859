// The node:http fetch against real servers on loopback: what the openai SDK and the provider rely on.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError, RateLimitError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { createNodeFetch, nodeResponseBody } from "./node-fetch.ts";
import { readNodeSseEvents } from "./sse-reader.ts";

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface TestServer {
  url: string;
  server: Server;
  /** Every connection the server accepted, in order. */
  sockets: Socket[];
  /** The next connection the server accepts. */
  connection(): Promise<Socket>;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<TestServer> {
  const sockets: Socket[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    handler(req, res, Buffer.concat(chunks));
  });
  server.on("connection", (socket) => sockets.push(socket));
  closers.push(async () => {
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const connection = async () => ((await once(server, "connection")) as [Socket])[0];
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, sockets, connection };
}

function nodeFetch() {
  const fetch = createNodeFetch();
  closers.push(async () => fetch.close());
  return fetch;
}

async function text(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

describe("createNodeFetch", () => {
  it("sends the method, headers and a non-ASCII body byte for byte, asks for no compression, and reuses the socket", async () => {
    const seen: Array<{ method?: string; headers: IncomingMessage["headers"]; body: string }> = [];
    const server = await serve((req, res, body) => {
      seen.push({ headers: req.headers, body: body.toString("utf8"), ...(req.method ? { method: req.method } : {}) });
      res.writeHead(201, "Made", { "x-request-id": "req_1", "set-cookie": ["a=1", "b=2"] });
      res.end("héllo ✓");
    });
    const fetch = nodeFetch();
    const payload = JSON.stringify({ content: "Grüße, 你好 🎙" });
    const first = await fetch(`${server.url}/v1/chat?x=1`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer k" },
      body: payload,
    });
    expect(first.status).toBe(201);
    expect(first.statusText).toBe("Made");
    expect(first.ok).toBe(true);
    expect(first.headers.get("x-request-id")).toBe("req_1");
    expect(first.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await first.text()).toBe("héllo ✓");
    const second = await fetch(new URL(`${server.url}/again`), { method: "POST", body: new TextEncoder().encode("é") });
    expect(await text(nodeResponseBody(second) as AsyncIterable<Buffer>)).toBe("héllo ✓");
    expect(seen[0]).toMatchObject({ method: "POST", body: payload });
    expect(seen[0]?.headers).toMatchObject({
      "content-type": "application/json",
      authorization: "Bearer k",
      "accept-encoding": "identity",
      "content-length": String(Buffer.byteLength(payload)),
    });
    expect(seen[1]).toMatchObject({ body: "é", headers: { "content-length": "2" } });
    expect(server.sockets).toHaveLength(1);
  });

  it("answers an error status with its headers and body, as the SDK needs for an APIError", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(429, { "content-type": "application/json", "retry-after": "3", "retry-after-ms": "2500" });
      res.end(JSON.stringify({ error: { message: "slow down", type: "rate_limit_error" } }));
    });
    const client = new OpenAI({ apiKey: "k", baseURL: server.url, maxRetries: 0, fetch: nodeFetch() });
    const error = await client.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: "hi" }] })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).status).toBe(429);
    expect((error as RateLimitError).headers.get("retry-after")).toBe("3");
    expect((error as RateLimitError).headers.get("retry-after-ms")).toBe("2500");
    expect((error as RateLimitError).error).toMatchObject({ message: "slow down" });
  });

  it("rejects a refused connection with TypeError('fetch failed') caused by ECONNREFUSED; the SDK makes it an APIConnectionError", async () => {
    const { server, url } = await serve(() => {});
    await new Promise((resolve) => server.close(resolve));
    const error = await nodeFetch()(`${url}/v1`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe("fetch failed");
    expect((error as TypeError).cause).toMatchObject({ code: "ECONNREFUSED" });
    const client = new OpenAI({ apiKey: "k", baseURL: url, maxRetries: 0, fetch: nodeFetch() });
    await expect(client.models.list()).rejects.toBeInstanceOf(APIConnectionError);
  });

  it("destroys the socket at once when aborted mid-body, and the body read fails with the abort's reason", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"n":1}\n\n');
    });
    const controller = new AbortController();
    const response = await nodeFetch()(`${server.url}/stream`, { signal: controller.signal });
    const events = readNodeSseEvents(nodeResponseBody(response) as NonNullable<ReturnType<typeof nodeResponseBody>>)[
      Symbol.asyncIterator
    ]();
    expect((await events.next()).value).toEqual([{ event: undefined, data: '{"n":1}' }]);
    const serverSocket = server.sockets[0] as Socket;
    const closed = once(serverSocket, "close");
    const reason = new Error("barge-in");
    controller.abort(reason);
    await expect(events.next()).rejects.toBe(reason);
    await closed;
    expect(serverSocket.destroyed).toBe(true);
  });

  it("destroys the socket when aborted before the response, rejecting with the reason", async () => {
    const server = await serve(() => {}); // never answers
    const controller = new AbortController();
    const connected = server.connection();
    const pending = nodeFetch()(`${server.url}/slow`, { method: "POST", body: "{}", signal: controller.signal });
    const closed = once(await connected, "close");
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    await closed;
  });

  it("lets the SDK's timeout and a caller's abort end the call, each as the SDK reports it", async () => {
    const server = await serve(() => {}); // never answers
    const client = new OpenAI({ apiKey: "k", baseURL: server.url, maxRetries: 0, timeout: 50, fetch: nodeFetch() });
    let connected = server.connection();
    const timedOut = client.models.list();
    const firstClosed = once(await connected, "close");
    await expect(timedOut).rejects.toBeInstanceOf(APIConnectionTimeoutError);
    await firstClosed;
    const controller = new AbortController();
    connected = server.connection();
    const pending = client.models.list({ signal: controller.signal, timeout: 10_000 });
    const secondClosed = once(await connected, "close");
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    await secondClosed;
  });

  it("fails the body read when the upstream resets the connection mid-body", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"n":1}\n\n', () => res.socket?.destroy());
    });
    const response = await nodeFetch()(`${server.url}/reset`);
    const batches: unknown[] = [];
    const error = await (async () => {
      for await (const events of readNodeSseEvents(
        nodeResponseBody(response) as NonNullable<ReturnType<typeof nodeResponseBody>>,
      ))
        batches.push(...events);
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(batches).toEqual([{ event: undefined, data: '{"n":1}' }]);
    expect(error).toMatchObject({ code: "ECONNRESET" });
  });

  it.each([
    ["gzip", gzipSync],
    ["deflate", deflateSync],
    ["br", brotliCompressSync],
  ] as const)("decodes a %s body, on both the web and the Node body", async (encoding, compress) => {
    const payload = 'data: {"content":"é"}\n\n'.repeat(50);
    const server = await serve((_req, res) => {
      res.writeHead(200, { "content-encoding": encoding });
      res.end(compress(Buffer.from(payload)));
    });
    const fetch = nodeFetch();
    expect(await (await fetch(server.url)).text()).toBe(payload);
    expect(await text(nodeResponseBody(await fetch(server.url)) as AsyncIterable<Buffer>)).toBe(payload);
  });

  it("gives a 204 no body and leaves the socket for the next request", async () => {
    const server = await serve((req, res) => {
      res.writeHead(req.url === "/empty" ? 204 : 200);
      res.end(req.url === "/empty" ? undefined : "ok");
    });
    const fetch = nodeFetch();
    const empty = await fetch(`${server.url}/empty`, { method: "DELETE" });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    expect(await (await fetch(`${server.url}/full`)).text()).toBe("ok");
    expect(server.sockets).toHaveLength(1);
  });

  it("closes a socket left idle longer than idleSocketMs, and never one whose response is only slow", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.write("a", () => setTimeout(() => res.end("b"), 150)); // a pause three times the idle limit
    });
    const fetch = createNodeFetch({ idleSocketMs: 50 });
    closers.push(async () => fetch.close());
    const connected = server.connection();
    const response = await fetch(server.url);
    const closed = once(await connected, "close");
    expect(await response.text()).toBe("ab");
    await closed;
  });

  it("speaks TLS to an https upstream, naming the host (SNI)", async () => {
    // No certificate is needed to see the client's first flight: a TLS ClientHello naming the host.
    const received = new Promise<Buffer>((resolve) => {
      const tcp = createTcpServer((socket) =>
        socket.once("data", (bytes: Buffer) => {
          resolve(bytes);
          socket.destroy();
        }),
      );
      closers.push(() => new Promise((done) => tcp.close(done)));
      tcp.listen(0, "127.0.0.1", () => {
        const port = (tcp.address() as AddressInfo).port;
        nodeFetch()(`https://localhost:${port}/v1/chat/completions`, { method: "POST", body: "{}" }).catch(() => {});
      });
    });
    const hello = await received;
    expect(hello[0]).toBe(0x16); // handshake record
    expect(hello[5]).toBe(0x01); // ClientHello
    expect(hello.includes(Buffer.from("localhost"))).toBe(true);
  });
});
