// The benchmark client's count of merged tokens: a token counts as merged when it reached the client
// in the same socket read as the token before it, whether in the same chunk of the chunked answer
// or in a later chunk of that read (node:http gives each chunk its own 'data' event). A gateway
// that falls behind under load writes several tokens at once; this is how the benchmark sees it.
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agent, streamOnce } from "./load-client.ts";

const chunk = (content: string) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

/**
 * How the answer's tokens go out: a list of socket writes, each of one or more chunks of the chunked
 * answer, each chunk of one or more tokens. The socket, not the response, is corked: a corked
 * response joins its writes into one chunk.
 */
type Plan = string[][][];

let plan: Plan = [];
const server = createServer(async (request, response: ServerResponse) => {
  request.resume();
  response.writeHead(200, { "content-type": "text/event-stream" });
  // The client's end of this connection (client and server share this process): each write goes
  // once the client has read the one before, so two writes never meet in one read.
  const clientSocket = Object.values(agent.sockets)
    .flat()
    .find((socket) => socket?.localPort === request.socket.remotePort);
  if (!clientSocket) throw new Error("the client's socket is not in the benchmark's agent");
  for (const write of plan) {
    const read = once(clientSocket, "data");
    response.socket?.cork();
    for (const tokens of write) response.write(tokens.map(chunk).join(""));
    response.socket?.uncork();
    await read;
  }
  response.end("data: [DONE]\n\n");
});
let url = "";

beforeAll(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  agent.destroy();
  server.close();
  await once(server, "close");
});

describe("the benchmark client's merged tokens", () => {
  it("counts tokens in one chunk, and in separate chunks of one write, as merged", async () => {
    // Write 1: token a alone. Write 2: tokens b and c in one chunk. Write 3: d and e as two chunks.
    plan = [[["a"]], [["b", "c"]], [["d"], ["e"]]];
    const timing = await streamOnce(url, "{}");
    expect(timing.tokens).toBe(5);
    expect(timing.mergedTokens).toBe(2);
    expect(timing.gapsMs).toHaveLength(4);
    // b and d come after a pause; c and e came with the token before them.
    expect(timing.gapsMs.map((gap) => gap > 0)).toEqual([true, false, true, false]);
  });

  it("counts tokens written apart as not merged", async () => {
    plan = [[["a"]], [["b"]], [["c"]]];
    const timing = await streamOnce(url, "{}");
    expect(timing.tokens).toBe(3);
    expect(timing.mergedTokens).toBe(0);
  });
});
