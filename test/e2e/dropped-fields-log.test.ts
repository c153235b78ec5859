// Fields outside the upstream allowlist are dropped before the upstream (checked at the mock) unless
// the route's passFields names them, and the ingress says which at debug level: one log line naming
// the dropped fields, never their values.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { startStack, type Stack } from "../support/stack.ts";

let mock: MockUpstream;
let stack: Stack;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 3 });
  const { url } = await mock.listen(0);
  stack = await startStack("dropped-fields", {
    routes: {
      providers: { upstream: { type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" } },
      routes: {
        "tier-model": { provider: "upstream", passFields: ["mock", "service_tier"] },
        "*": { provider: "upstream", passFields: ["mock"] },
      },
    },
    ingressEnv: { LOG_LEVEL: "debug" },
  });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

/** A value that must appear nowhere but in the request. */
const secretValue = `value-${randomBytes(12).toString("hex")}`;

async function send(model: string) {
  const tag = randomBytes(6).toString("hex");
  const response = await fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "Hi" }],
      service_tier: "priority",
      some_future_parameter: { secret: secretValue },
      metadata: { note: secretValue },
      mock: { tag },
    }),
  });
  expect(response.status).toBe(200);
  await response.text();
  const requestId = response.headers.get("x-request-id") as string;
  const upstream = mock.stats().recent.find((entry) => entry.tag === tag)?.body as Record<string, unknown>;
  expect(upstream, "the request reached the upstream").toBeDefined();
  const ingress = stack.ingresses[0]!;
  const line = () =>
    ingress.output.find((entry) => entry.includes('"fields not passed upstream"') && entry.includes(requestId));
  await vi.waitFor(() => expect(line(), "the debug line naming the dropped fields").toBeDefined(), {
    timeout: 5000,
    interval: 25,
  });
  return { upstream, logged: JSON.parse(line() as string) as { level: string; fields: string[] } };
}

describe("fields outside the allowlist", () => {
  it("are dropped at the upstream, and named (never their values) in one debug line", async () => {
    const { upstream, logged } = await send("gpt-4o");
    for (const field of ["service_tier", "some_future_parameter", "metadata"])
      expect(upstream, field).not.toHaveProperty(field);
    expect(upstream).toMatchObject({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] });
    expect(logged.level).toBe("debug");
    expect([...logged.fields].sort()).toEqual(["metadata", "service_tier", "some_future_parameter"]);
    expect(stack.ingresses[0]!.output.some((entry) => entry.includes(secretValue))).toBe(false);
  });

  it("are passed when the route names them, and only the others are logged as dropped", async () => {
    const { upstream, logged } = await send("tier-model");
    expect(upstream).toMatchObject({ service_tier: "priority" });
    expect(upstream).not.toHaveProperty("some_future_parameter");
    expect(upstream).not.toHaveProperty("metadata");
    expect([...logged.fields].sort()).toEqual(["metadata", "some_future_parameter"]);
    expect(stack.ingresses[0]!.output.some((entry) => entry.includes(secretValue))).toBe(false);
  });
});
