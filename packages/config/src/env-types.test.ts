// The Redis-related variable types: a key prefix without braces (the queue's hash tag is added by
// the code; a braced prefix would put every request in one cluster slot) and a sentinel list.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { keyPrefix, sentinelList } from "./env-types.ts";

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
