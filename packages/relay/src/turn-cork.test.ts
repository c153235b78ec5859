import { once } from "node:events";
import { createServer, connect, type Socket } from "node:net";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { corkConnectionUntilNextTurn, corkUntilNextTurn } from "./turn-cork.ts";

describe("corkUntilNextTurn", () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function connectedPair(): Promise<{ client: Socket; received: () => string }> {
    let data = "";
    const server = createServer((socket) => socket.on("data", (chunk) => (data += chunk.toString())));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address() as { port: number };
    const client = connect(address.port, "127.0.0.1");
    await once(client, "connect");
    cleanups.push(() => {
      client.destroy();
      server.close();
    });
    return { client, received: () => data };
  }

  it("holds the writes of one event-loop turn and sends them together after it", async () => {
    const { client, received } = await connectedPair();
    corkUntilNextTurn(client);
    client.write("one ");
    corkUntilNextTurn(client);
    client.write("two");
    expect(client.writableCorked).toBe(1);
    expect(client.writableLength).toBe("one two".length);
    await nextTurn();
    expect(client.writableCorked).toBe(0);
    expect(client.writableLength).toBe(0);
    await vi.waitFor(() => expect(received() === "one two", "the server received both writes").toBe(true), {
      timeout: 2000,
      interval: 25,
    });
  });

  it("corks again in a later turn", async () => {
    const { client, received } = await connectedPair();
    corkUntilNextTurn(client);
    client.write("a");
    await nextTurn();
    corkUntilNextTurn(client);
    expect(client.writableCorked).toBe(1);
    client.write("b");
    await nextTurn();
    await vi.waitFor(() => expect(received() === "ab", "the server received both writes").toBe(true), {
      timeout: 2000,
      interval: 25,
    });
  });

  it("runs what is to be written at the end of the turn before uncorking, so it leaves with the rest", async () => {
    const { client, received } = await connectedPair();
    const corkedWhenRun: number[] = [];
    corkUntilNextTurn(client, () => {
      corkedWhenRun.push(client.writableCorked);
      client.write(" end");
    });
    client.write("start");
    corkUntilNextTurn(client, () => client.write(" later"));
    await nextTurn();
    expect(corkedWhenRun).toEqual([1]);
    expect(client.writableCorked).toBe(0);
    await vi.waitFor(() => expect(received() === "start end later", "the server received every write").toBe(true), {
      timeout: 2000,
      interval: 25,
    });
  });

  it("runs the end-of-turn write even when the connection has no socket yet", async () => {
    let ran = false;
    corkUntilNextTurn(undefined, () => (ran = true));
    expect(ran).toBe(false);
    await nextTurn();
    expect(ran).toBe(true);
  });

  it("accepts a connection that has no socket yet", () => {
    expect(() => corkUntilNextTurn(undefined)).not.toThrow();
  });
});

describe("corkConnectionUntilNextTurn", () => {
  const connections: Redis[] = [];
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((redis) => redis.quit()));
  });

  async function connection(options: { enableAutoPipelining?: boolean } = {}): Promise<Redis> {
    const redis = new Redis(inject("redisUrl"), options);
    connections.push(redis);
    await redis.ping();
    return redis;
  }

  it("holds the commands of one turn in the socket, then sends them and gets every answer", async () => {
    const redis = await connection();
    corkConnectionUntilNextTurn(redis);
    const answers = Promise.all([redis.echo("one"), redis.echo("two")]);
    expect(redis.stream.writableCorked).toBe(1);
    expect(redis.stream.writableLength).toBeGreaterThan(0);
    expect(await answers).toEqual(["one", "two"]);
    expect(redis.stream.writableCorked).toBe(0);
  });

  it("leaves an auto-pipelined connection alone (ioredis batches it)", async () => {
    const redis = await connection({ enableAutoPipelining: true });
    corkConnectionUntilNextTurn(redis);
    expect(redis.stream.writableCorked).toBe(0);
    expect(await redis.echo("three")).toBe("three");
  });
});
