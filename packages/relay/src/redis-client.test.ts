// Topology choices that cannot both hold are refused before any connection is opened.
import { describe, expect, it } from "vitest";
import { createRedisClient } from "./redis-client.ts";

describe("createRedisClient", () => {
  it("refuses a Redis Cluster with sentinels", () => {
    expect(() =>
      createRedisClient("redis://127.0.0.1:6379", "command", "test", { cluster: true, sentinels: "127.0.0.1:26379" }),
    ).toThrow(/exclude each other/);
  });
});
