// API keys as `Authorization: Bearer` (ElevenLabs' API-key field) or in a
// configured header (ElevenLabs' custom-header secrets); missing and wrong keys get 401 in the
// OpenAI shape; /health and /ready stay open; keys never reach the logs; production refuses to
// start open unless told to.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { AuthenticationError } from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { simulatedText } from "@switchboard/providers";
import { startService } from "../support/service-process.ts";
import { startStack, uniquePrefix, type Stack } from "../support/stack.ts";

const keyOne = "sb-test-key-one-7d1c0c2f9e";
const keyTwo = "sb-test-key-two-fromfile-41ab";

let stack: Stack;
let baseUrl: string;

beforeAll(async () => {
  const keyFile = join(mkdtempSync(join(tmpdir(), "switchboard-keys-")), "keys.txt");
  writeFileSync(keyFile, `# gateway keys\n\n${keyTwo}\n`);
  stack = await startStack("auth", {
    env: { SIMULATED_FIRST_TOKEN_DELAY_MS: "1", SIMULATED_TOKEN_DELAY_MS: "1" },
    ingressEnv: { API_KEYS: `${keyOne}, other-key`, API_KEYS_FILE: keyFile, AUTH_HEADER: "X-Switchboard-Key" },
  });
  baseUrl = stack.urls[0]!;
});
afterAll(async () => {
  await stack?.stop();
});

const body = JSON.stringify({ model: "switchboard-sim", messages: [{ role: "user", content: "Hi" }] });

function post(headers: Record<string, string>): Promise<Response> {
  return fetch(`${baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

async function expectRejected(response: Response, message: RegExp): Promise<void> {
  expect(response.status).toBe(401);
  expect(response.headers.get("x-should-retry")).toBe("false");
  const error = ((await response.json()) as { error: Record<string, unknown> }).error;
  expect(error).toMatchObject({ code: "invalid_api_key", type: "authentication_error", param: null });
  expect(error.message).toMatch(message);
}

describe("API keys", () => {
  it("reject a request without a key", async () => {
    await expectRejected(await post({}), /Missing API key.*Authorization: Bearer.*x-switchboard-key/);
  });

  it("reject a wrong key, as Bearer and in the custom header", async () => {
    await expectRejected(await post({ authorization: "Bearer not-the-key" }), /Invalid API key/);
    await expectRejected(await post({ "x-switchboard-key": "not-the-key" }), /Invalid API key/);
    await expectRejected(await post({ authorization: `Bearer ${keyOne}x` }), /Invalid API key/);
    await expectRejected(await post({ authorization: keyOne }), /Missing API key/);
  });

  it("accept a right key as Bearer, from API_KEYS and from API_KEYS_FILE", async () => {
    for (const key of [keyOne, "other-key", keyTwo]) {
      const response = await post({ authorization: `Bearer ${key}` });
      expect(response.status).toBe(200);
      expect(
        ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content,
      ).toBe(simulatedText());
    }
  });

  it("accept a right key in the configured header, whatever its case", async () => {
    expect((await post({ "X-Switchboard-Key": keyOne })).status).toBe(200);
    expect((await post({ "x-switchboard-key": keyTwo })).status).toBe(200);
  });

  it("work with the openai SDK: a wrong key raises AuthenticationError, a right one streams", async () => {
    const wrong = new OpenAI({ baseURL: baseUrl, apiKey: "wrong", maxRetries: 0 });
    await expect(
      wrong.chat.completions.create({ model: "switchboard-sim", messages: [{ role: "user", content: "Hi" }] }),
    ).rejects.toBeInstanceOf(AuthenticationError);
    const right = new OpenAI({ baseURL: baseUrl, apiKey: keyOne, maxRetries: 0 });
    let text = "";
    for await (const chunk of await right.chat.completions.create({
      model: "switchboard-sim",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    })) {
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe(simulatedText());
  });

  it("protect /v1/models but leave /health and /ready open", async () => {
    expect((await fetch(`${baseUrl}/models`)).status).toBe(401);
    expect((await fetch(`${baseUrl}/models`, { headers: { authorization: `Bearer ${keyOne}` } })).status).toBe(200);
    const root = baseUrl.replace(/\/v1$/, "");
    expect((await fetch(`${root}/health`)).status).toBe(200);
    expect((await fetch(`${root}/ready`)).status).toBe(200);
  });

  it("are checked before the body is read: a huge unauthenticated body is refused with 401", async () => {
    const response = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "x".repeat(64 * 1024),
    });
    await expectRejected(response, /Missing API key/);
  });

  it("never appear in the logs", () => {
    const logs = stack.ingresses[0]!.output.join("\n");
    expect(logs).toContain("authentication on");
    for (const key of [keyOne, keyTwo, "other-key"]) expect(logs).not.toContain(key);
  });
});

describe("running open", () => {
  const env = () => ({
    REDIS_URL: inject("redisUrl"),
    REDIS_KEY_PREFIX: uniquePrefix("open"),
    PORT: "0",
    HOST: "127.0.0.1",
  });

  it("is refused in production without ALLOW_OPEN_ACCESS, with a message saying how to fix it", async () => {
    const error = await startService("ingress", { ...env(), NODE_ENV: "production" }).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toMatch(/exited before it was ready/);
    expect(error?.message).toMatch(/API_KEYS.*NODE_ENV=production.*ALLOW_OPEN_ACCESS=true/s);
  });

  it("is allowed in production with ALLOW_OPEN_ACCESS=true, and said loudly at start", async () => {
    const ingress = await startService("ingress", { ...env(), NODE_ENV: "production", ALLOW_OPEN_ACCESS: "true" });
    try {
      expect(ingress.output.join("\n")).toMatch(/"level":"warn".*OPEN ACCESS/);
    } finally {
      await ingress.stop();
    }
  });

  it("is the default outside production, with the same warning", async () => {
    const ingress = await startService("ingress", env());
    try {
      expect(ingress.output.join("\n")).toMatch(/"level":"warn".*OPEN ACCESS/);
      const response = await fetch(`${String(ingress.readyLine.url)}/models`);
      expect(response.status).toBe(200);
    } finally {
      await ingress.stop();
    }
  });
});
