// What one ingress does with the connections themselves, over raw sockets: at most MAX_CONNECTIONS
// (a request on one more is answered 503 connection_limit and its connection closed), kept-alive
// connections closed after KEEP_ALIVE_TIMEOUT_MS idle, and a client that stops reading a long
// answer disconnected after CLIENT_WRITE_TIMEOUT_MS with its upstream call closed, while a client
// that reads slowly gets its whole answer. Every close is counted in the ingress's metrics.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { parsePrometheusText, total } from "@switchboard/testing";
import type { ServiceProcess } from "../support/service-process.ts";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  mock = createMockUpstream();
  const mockUrl = (await mock.listen(0)).url;
  stack = await startStack("client-connections", { ingresses: 0, routes: routesTo(mockUrl) });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

const closedName = "switchboard_connections_closed_total";
const reasonLabel = "switchboard_connection_close_reason";

async function scrape(ingress: ServiceProcess) {
  return parsePrometheusText(await (await fetch(String(ingress.readyLine.metricsUrl))).text());
}

async function closedBy(ingress: ServiceProcess, reason: string): Promise<number> {
  return total(await scrape(ingress), closedName, { [reasonLabel]: reason });
}

function publicAddress(ingress: ServiceProcess): URL {
  return new URL(String(ingress.readyLine.url));
}

function open(address: URL): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(address.port), address.hostname, () => resolve(socket));
    socket.once("error", reject);
  });
}

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request on the socket; resolves with the first whole answer (Content-Length framed). */
function exchange(socket: Socket, request: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (data: Buffer) => {
      text += data.toString("latin1");
      const headEnd = text.indexOf("\r\n\r\n");
      if (headEnd === -1) return;
      const [statusLine = "", ...lines] = text.slice(0, headEnd).split("\r\n");
      const headers = Object.fromEntries(
        lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]),
      );
      const body = text.slice(headEnd + 4);
      if (body.length < Number(headers["content-length"] ?? 0)) return;
      socket.off("data", onData);
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(request);
  });
}

const health = (address: URL) => `GET /health HTTP/1.1\r\nHost: ${address.host}\r\n\r\n`;

function chatRequest(address: URL, mockOptions: Record<string, unknown>): string {
  const body = JSON.stringify({
    model: "mock-model",
    stream: true,
    messages: [{ role: "user", content: "Hi" }],
    mock: mockOptions,
  });
  return (
    `POST /v1/chat/completions HTTP/1.1\r\nHost: ${address.host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

const closed = (socket: Socket) =>
  new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));

describe("MAX_CONNECTIONS", () => {
  it("answers a request on one connection too many 503 connection_limit with Retry-After, closes it, counts and logs it", async () => {
    const ingress = await stack.startIngress({ MAX_CONNECTIONS: "3" });
    const address = publicAddress(ingress);
    const kept = await Promise.all([open(address), open(address), open(address)]);
    for (const socket of kept) expect((await exchange(socket, health(address))).status).toBe(200);

    const extra = await open(address);
    const refused = await exchange(extra, chatRequest(address, {}));
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.headers.connection).toBe("close");
    const error = (JSON.parse(refused.body) as { error: { code: string; type: string } }).error;
    expect(error).toMatchObject({ code: "connection_limit", type: "service_unavailable_error" });
    await closed(extra);

    // The kept connections still work; one closed makes room for a new one.
    expect((await exchange(kept[0]!, health(address))).status).toBe(200);
    kept[0]!.destroy();
    await vi.waitFor(async () => expect(total(await scrape(ingress), "switchboard_connections_open")).toBe(2), {
      timeout: 5000,
      interval: 25,
    });
    const next = await open(address);
    expect((await exchange(next, health(address))).status).toBe(200);

    expect(await closedBy(ingress, "limit")).toBe(1);
    expect(ingress.output.some((line) => line.includes('"connection limit reached: connections refused"'))).toBe(true);
    for (const socket of [...kept, next]) socket.destroy();
  });
});

describe("KEEP_ALIVE_TIMEOUT_MS", () => {
  it("closes a kept-alive connection once it has been idle that long, and counts it", async () => {
    const ingress = await stack.startIngress({ KEEP_ALIVE_TIMEOUT_MS: "300" });
    const address = publicAddress(ingress);
    const socket = await open(address);
    socket.on("error", () => {});
    expect((await exchange(socket, health(address))).status).toBe(200);
    const answeredAt = Date.now();
    await closed(socket);
    const idleMs = Date.now() - answeredAt;
    expect(idleMs).toBeGreaterThanOrEqual(250);
    expect(idleMs).toBeLessThan(5000);
    await vi.waitFor(async () => expect(await closedBy(ingress, "idle_timeout")).toBe(1), {
      timeout: 5000,
      interval: 25,
    });
  });
});

describe("CLIENT_WRITE_TIMEOUT_MS", () => {
  let ingress: ServiceProcess;
  beforeAll(async () => {
    ingress = await stack.startIngress({ CLIENT_WRITE_TIMEOUT_MS: "1000" });
  });

  it("disconnects a client that stops reading a long answer, closes its upstream call, logs and counts it", async () => {
    const address = publicAddress(ingress);
    const abortedBefore = mock.stats().aborted;
    const timeoutsBefore = await closedBy(ingress, "write_timeout");
    const socket = await open(address);
    socket.on("error", () => {});
    // Never read: the kernel's buffers fill (a few MB on loopback), then the ingress's.
    socket.pause();
    socket.write(chatRequest(address, { tokens: 1_000_000 }));
    await vi.waitFor(async () => expect(await closedBy(ingress, "write_timeout")).toBe(timeoutsBefore + 1), {
      timeout: 20_000,
      interval: 50,
    });
    // The request was cancelled: the worker closed its upstream call long before its million tokens.
    await vi.waitFor(() => expect(mock.stats().aborted).toBe(abortedBefore + 1), { timeout: 5000, interval: 25 });
    const line = ingress.output.find((entry) => entry.includes('"client stopped reading: disconnected"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line as string)).toMatchObject({ timeoutMs: 1000 });
    expect(Number((JSON.parse(line as string) as { bufferedBytes: number }).bufferedBytes)).toBeGreaterThan(0);
    socket.destroy();
  }, 30_000);

  it("leaves alone a client that reads a long answer slowly, in bursts with pauses shorter than the timeout", async () => {
    const address = publicAddress(ingress);
    const timeoutsBefore = await closedBy(ingress, "write_timeout");
    const socket = await open(address);
    let text = "";
    socket.on("data", (data: Buffer) => (text += data.toString("latin1")));
    socket.pause();
    const ended = new Promise<void>((resolve, reject) => {
      socket.on("data", () => {
        if (text.endsWith("0\r\n\r\n")) resolve();
      });
      socket.once("close", () => reject(new Error(`closed before the end, after ${text.length} bytes`)));
    });
    socket.write(chatRequest(address, { tokens: 40_000 }));
    // Read for 50 ms every 500 ms: far slower than the answer comes, never stalled for the timeout.
    const pacer = setInterval(() => {
      socket.resume();
      setTimeout(() => socket.pause(), 50);
    }, 500);
    try {
      await ended;
    } finally {
      clearInterval(pacer);
      socket.destroy();
    }
    expect(text.length).toBeGreaterThan(6_000_000);
    expect(text).toContain("data: [DONE]");
    expect(text).not.toContain('"error"');
    expect(await closedBy(ingress, "write_timeout")).toBe(timeoutsBefore);
  }, 60_000);
});
