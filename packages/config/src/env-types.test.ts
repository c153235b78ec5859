// The variable types and groups: a key prefix without braces (the queue's hash tag is added by
// the code; a braced prefix would put every request in one cluster slot), a sentinel list, and the
// Redis and metrics groups the services share.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { keyPrefix, metricsServerEnv, redisConnectionEnv, sentinelList } from "./env-types.ts";

describe("keyPrefix", () => {
  it("accepts plain prefixes and rejects braces", () => {
    const schema = z.object({ REDIS_KEY_PREFIX: keyPrefix() });
    expect(schema.parse({}).REDIS_KEY_PREFIX).toBe("switchboard");
    expect(schema.parse({ REDIS_KEY_PREFIX: "prod.eu-1_a" }).REDIS_KEY_PREFIX).toBe("prod.eu-1_a");
    const result = schema.safeParse({ REDIS_KEY_PREFIX: "{switchboard}" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/no braces/);
  });
});

describe("sentinelList", () => {
  it("accepts host:port lists (port optional) and rejects anything else", () => {
    const schema = z.object({ REDIS_SENTINELS: sentinelList() });
    for (const value of ["s1:26379", "s1:26379,s2:26379,10.0.0.3:26380", "sentinel"])
      expect(schema.safeParse({ REDIS_SENTINELS: value }).success, value).toBe(true);
    for (const value of ["s1:port", "s1:26379,", "redis://s1:26379", "s1 :26379"])
      expect(schema.safeParse({ REDIS_SENTINELS: value }).success, value).toBe(false);
    expect(schema.parse({}).REDIS_SENTINELS).toBeUndefined();
  });
});

describe("redisConnectionEnv and metricsServerEnv", () => {
  it("default to a local Redis and an open metrics port 9464, and refuse a short metrics token", () => {
    const schema = z.object({ ...redisConnectionEnv(), ...metricsServerEnv() });
    expect(schema.parse({})).toEqual({
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_KEY_PREFIX: "switchboard",
      REDIS_CLUSTER: false,
      REDIS_SENTINEL_MASTER: "mymaster",
      METRICS_PORT: 9464,
      METRICS_HOST: "0.0.0.0",
    });
    expect(schema.safeParse({ METRICS_TOKEN: "short" }).success).toBe(false);
    expect(schema.parse({ REDIS_CLUSTER: "true", REDIS_SENTINELS: "s1:26379" })).toMatchObject({
      REDIS_CLUSTER: true,
      REDIS_SENTINELS: "s1:26379",
    });
  });
});
