// The openai provider over its node:http fetch, against a real SSE server on loopback: the
// upstream's socket is kept after a finished answer and closed at once when the call is stopped.
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayError } from "@switchboard/protocol";
import { createOpenAIProvider } from "./openai-provider.ts";
import type { Provider, UpstreamChunk } from "./provider.ts";

const sockets: Socket[] = [];
/** Responses the server holds open (the "hold" model), to be written to by the test. */
const held: ServerResponse[] = [];
/** The "late-end" responses and their sockets. */
const lateEnds: Array<{ res: ServerResponse; socket: Socket }> = [];
const server = createServer(async (req, res) => {
  let raw = "";
  for await (const chunk of req) raw += String(chunk);
  const body = JSON.parse(raw) as { model: string; messages: Array<{ content: string }> };
  res.writeHead(200, { "content-type": "text/event-stream" });
  const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  // Echo the prompt's characters one by one, so non-ASCII has to survive both ways.
  const tokens = [...(body.messages[0]?.content ?? "")].map((character) => chunk({ content: character }));
  if (body.model === "hold") {
    res.write(tokens[0] ?? "");
    held.push(res);
    return;
  }
  const answer = `${tokens.join("")}${chunk({}, "stop")}data: [DONE]\n\n`;
  // "late-end": the body's end comes in a later packet than [DONE], as it may from a real upstream.
  if (body.model === "late-end") {
    lateEnds.push({ res, socket: req.socket });
    res.write(answer, () => setTimeout(() => res.end(), 20));
  }
  else res.end(answer);
});
server.on("connection", (socket) => sockets.push(socket));
let provider: Provider;

beforeAll(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  provider = createOpenAIProvider({ name: "test", apiKey: "k", baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, timeoutMs: 5_000 });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function call(model: string, content: string, signal = new AbortController().signal): AsyncIterator<UpstreamChunk> {
  return provider.stream({ body: { messages: [{ role: "user", content }] }, model, signal })[Symbol.asyncIterator]();
}

async function all(iterator: AsyncIterator<UpstreamChunk>): Promise<UpstreamChunk[]> {
  const chunks: UpstreamChunk[] = [];
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) chunks.push(next.value);
  return chunks;
}

describe("the openai provider over node:http", () => {
  it("streams every delta, non-ASCII intact, and reuses one socket for calls one after another", async () => {
    const before = sockets.length;
    const first = await all(call("m", "é✓🎙"));
    expect(first.map((chunk) => chunk.delta?.content ?? chunk.finishReason)).toEqual(["é", "✓", "🎙", "stop"]);
    expect(first[0]?.model).toBe("m");
    await all(call("m", "ab"));
    await all(call("m", "cd"));
    expect(sockets.length - before).toBe(1);
  });

  it("keeps the socket when the body's end comes after [DONE] (the rest is read, not cut)", async () => {
    expect((await all(call("late-end", "ab"))).map((chunk) => chunk.delta?.content ?? chunk.finishReason)).toEqual(["a", "b", "stop"]);
    const { res, socket } = lateEnds.at(-1) as (typeof lateEnds)[0];
    if (!res.closed) await once(res, "close");
    expect(res.writableFinished).toBe(true);
    expect(socket.destroyed).toBe(false);
  });

  it("closes the upstream's socket at once when the call's signal aborts mid-stream", async () => {
    const controller = new AbortController();
    const iterator = call("hold", "xyz", controller.signal);
    expect((await iterator.next()).value).toMatchObject({ delta: { content: "x" } });
    const upstream = held.at(-1) as ServerResponse;
    const closed = once(upstream, "close");
    controller.abort(new GatewayError("upstream_timeout", { message: "stalled" }));
    await expect(iterator.next()).rejects.toMatchObject({ code: "upstream_timeout" });
    await closed;
    expect(upstream.socket?.destroyed ?? true).toBe(true);
  });

  it("closes the upstream's socket when the consumer stops reading before the end", async () => {
    const iterator = call("hold", "xyz");
    await iterator.next();
    const upstream = held.at(-1) as ServerResponse;
    const closed = once(upstream, "close");
    await iterator.return?.();
    await closed;
  });
});
