// What an operator exposes without meaning to: /metrics lives on its own port (or needs a token on
// the public one), refused keys are logged by digest prefix (never the key) and counted, and
// TRUST_PROXY decides whether X-Forwarded-For names the client.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parsePrometheusText, total } from "@switchboard/testing";
import { startStack, type Stack } from "../support/stack.ts";

const keys = ["operational-key-one-0123456789", "operational-key-two-0123456789"];
const metricsToken = "metrics-token-0123456789abcdef";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack("operational", {
    ingressEnv: { API_KEYS: keys.join(","), METRICS_TOKEN: metricsToken, TRUST_PROXY: "loopback" },
    workerEnv: { METRICS_TOKEN: metricsToken },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const publicBase = () => stack.urls[0]!.replace(/\/v1$/, "");

describe("metrics", () => {
  it("are not on the public port without METRICS_TOKEN", async () => {
    const ingress = await stack.startIngress({ METRICS_TOKEN: "" });
    const base = String(ingress.readyLine.url).replace(/\/v1$/, "");
    const response = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${keys[0]}` } });
    expect(response.status).toBe(404);
    await response.text();
    const own = await fetch(String(ingress.readyLine.metricsUrl));
    expect(own.status).toBe(200);
    expect(await own.text()).toContain("target_info");
  });

  it("need the token, on the public port and on their own", async () => {
    const ownUrl = String(stack.ingresses[0]!.readyLine.metricsUrl);
    expect(new URL(ownUrl).port).not.toBe(new URL(publicBase()).port);
    for (const url of [`${publicBase()}/metrics`, ownUrl]) {
      for (const authorization of [undefined, `Bearer ${keys[0]}`, "Bearer wrong-token"]) {
        const refused = await fetch(url, authorization ? { headers: { authorization } } : {});
        expect(refused.status, `${url} with ${authorization}`).toBe(401);
        await refused.text();
      }
      const scraped = await fetch(url, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain("target_info");
    }
  });

  it("need the token on a worker's port too, when it is set there; without it they are open", async () => {
    const url = String(stack.workers[0]!.readyLine.metricsUrl);
    for (const authorization of [undefined, `Bearer ${keys[0]}`, "Bearer wrong-token"]) {
      const refused = await fetch(url, authorization ? { headers: { authorization } } : {});
      expect(refused.status, `${url} with ${authorization}`).toBe(401);
      await refused.text();
    }
    const scraped = await fetch(url, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("switchboard-worker");
    const open = await stack.startWorker({ METRICS_TOKEN: "" });
    const unguarded = await fetch(String(open.readyLine.metricsUrl));
    expect(unguarded.status).toBe(200);
    await unguarded.text();
  });
});

describe("failed authentication", () => {
  it("is logged with the key's digest prefix and the client address, never the key, and counted", async () => {
    const wrongKey = "wrong-key-that-must-not-be-logged-42";
    const ingress = stack.ingresses[0]!;
    const scrape = async () =>
      parsePrometheusText(
        await (
          await fetch(String(ingress.readyLine.metricsUrl), { headers: { authorization: `Bearer ${metricsToken}` } })
        ).text(),
      );
    const before = await scrape();
    const name = "switchboard_authentication_failures_total";
    const invalid = await fetch(`${stack.urls[0]}/models`, {
      headers: { authorization: `Bearer ${wrongKey}`, "x-forwarded-for": "203.0.113.7" },
    });
    expect(invalid.status).toBe(401);
    await invalid.text();
    const missing = await fetch(`${stack.urls[0]}/models`);
    expect(missing.status).toBe(401);
    await missing.text();

    await vi.waitFor(
      async () =>
        expect(
          ingress.output.filter((line) => line.includes('"authentication failed"')).length >= 2,
          "both refusals logged",
        ).toBe(true),
      { timeout: 5000, interval: 25 },
    );
    const lines = ingress.output.filter((line) => line.includes('"authentication failed"'));
    for (const line of lines) expect(line).not.toContain(wrongKey);
    const invalidLine = JSON.parse(lines.find((line) => line.includes('"invalid"')) as string) as Record<
      string,
      unknown
    >;
    expect(invalidLine.keyDigestPrefix).toMatch(/^[0-9a-f]{8}$/);
    // The proxy in front (loopback, trusted by TRUST_PROXY) named the client.
    expect(invalidLine.client).toBe("203.0.113.7");
    const missingLine = JSON.parse(lines.find((line) => line.includes('"missing"')) as string) as Record<
      string,
      unknown
    >;
    expect(missingLine.keyDigestPrefix).toBeUndefined();

    const after = await scrape();
    for (const reason of ["invalid", "missing"]) {
      const labels = { switchboard_authentication_reason: reason };
      expect(total(after, name, labels) - total(before, name, labels), reason).toBe(1);
    }
  });

  it("names the socket's address as the client when no proxy is trusted", async () => {
    const ingress = await stack.startIngress({ TRUST_PROXY: "" });
    const response = await fetch(`${String(ingress.readyLine.url)}/models`, {
      headers: { authorization: "Bearer another-wrong-key", "x-forwarded-for": "203.0.113.8" },
    });
    expect(response.status).toBe(401);
    await response.text();
    await vi.waitFor(
      async () =>
        expect(
          ingress.output.some((line) => line.includes('"authentication failed"')),
          "the refusal logged",
        ).toBe(true),
      { timeout: 5000, interval: 25 },
    );
    const line = ingress.output.find((entry) => entry.includes('"authentication failed"')) as string;
    expect((JSON.parse(line) as { client: string }).client).toMatch(/127\.0\.0\.1$/);
  });
});
