// The node:http fetch through an HTTP proxy (Node's built-in proxy support, enabled by
// NODE_USE_ENV_PROXY=1 or given as proxyEnv): real servers and a real forward proxy on loopback.
import { once } from "node:events";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, createServer as createTcpServer, type AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { createNodeFetch } from "./node-fetch.ts";

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function listen(server: ReturnType<typeof createServer> | ReturnType<typeof createTcpServer>): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(() => new Promise((done) => server.close(done)));
  return (server.address() as AddressInfo).port;
}

/** A chat-completions upstream that answers one fixed completion. */
async function upstream(): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "c1",
          object: "chat.completion",
          created: 1,
          model: "m",
          choices: [{ index: 0, message: { role: "assistant", content: "via proxy" }, finish_reason: "stop" }],
        }),
      );
    });
  });
  closers.push(() => server.closeAllConnections());
  return `http://127.0.0.1:${await listen(server)}/v1`;
}

/** A forward proxy: absolute-form requests for http, CONNECT tunnels for https. Records both. */
async function forwardProxy() {
  const requests: string[] = [];
  const tunnels: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const forwarded = request(req.url ?? "", { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forwarded);
  });
  server.on("connect", (req: IncomingMessage, client) => {
    tunnels.push(req.url ?? "");
    const [host = "", port = "443"] = (req.url ?? "").split(":");
    const target = connect(Number(port), host === "localhost" ? "127.0.0.1" : host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      target.pipe(client);
      client.pipe(target);
    });
    target.on("error", () => client.destroy());
  });
  closers.push(() => server.closeAllConnections());
  return { url: `http://127.0.0.1:${await listen(server)}`, requests, tunnels };
}

function sdk(baseURL: string, proxyEnv: NodeJS.ProcessEnv): OpenAI {
  const fetch = createNodeFetch({ proxyEnv });
  closers.push(() => fetch.close());
  return new OpenAI({ apiKey: "test", baseURL, maxRetries: 0, fetch });
}

describe("createNodeFetch behind a proxy", () => {
  it("sends an http upstream's requests through HTTP_PROXY", async () => {
    const [baseURL, proxy] = await Promise.all([upstream(), forwardProxy()]);
    const completion = await sdk(baseURL, { HTTP_PROXY: proxy.url }).chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(completion.choices[0]?.message.content).toBe("via proxy");
    expect(proxy.requests).toEqual([`${baseURL}/chat/completions`]);
  });

  it("goes direct to a host named in NO_PROXY", async () => {
    const [baseURL, proxy] = await Promise.all([upstream(), forwardProxy()]);
    const completion = await sdk(baseURL, { HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" }).chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(completion.choices[0]?.message.content).toBe("via proxy");
    expect(proxy.requests).toEqual([]);
  });

  it("tunnels an https upstream through HTTPS_PROXY with CONNECT, TLS end to end", async () => {
    const proxy = await forwardProxy();
    // No certificate is needed to see the client's first flight through the tunnel: a ClientHello naming the host.
    const hello = new Promise<Buffer>((resolve) => {
      const tls = createTcpServer((socket) =>
        socket.once("data", (bytes: Buffer) => {
          resolve(bytes);
          socket.destroy();
        }),
      );
      void listen(tls).then((port) => {
        const fetch = createNodeFetch({ proxyEnv: { HTTPS_PROXY: proxy.url } });
        closers.push(() => fetch.close());
        fetch(`https://localhost:${port}/v1/chat/completions`, { method: "POST", body: "{}" }).catch(() => {});
      });
    });
    const bytes = await hello;
    expect(proxy.tunnels).toHaveLength(1);
    expect(proxy.tunnels[0]).toMatch(/^localhost:\d+$/);
    expect(bytes[0]).toBe(0x16); // TLS handshake record
    expect(bytes.includes(Buffer.from("localhost"))).toBe(true);
  });
});
