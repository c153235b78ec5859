// A metrics scrape is served with the right Bearer token only; with no token configured, to anyone.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { metricsAuthorizer } from "./metrics-token.ts";

const scrape = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe("metricsAuthorizer", () => {
  it("accepts only `Bearer <token>`, the scheme in any case", () => {
    const authorize = metricsAuthorizer("metrics-token-0123456789")!;
    expect(authorize(scrape("Bearer metrics-token-0123456789"))).toBe(true);
    expect(authorize(scrape("bearer  metrics-token-0123456789 "))).toBe(true);
    expect(authorize(scrape("Bearer metrics-token-012345678"))).toBe(false);
    expect(authorize(scrape("metrics-token-0123456789"))).toBe(false);
    expect(authorize(scrape())).toBe(false);
  });

  it("is undefined without a token: scrapes are open", () => {
    expect(metricsAuthorizer(undefined)).toBeUndefined();
  });
});
