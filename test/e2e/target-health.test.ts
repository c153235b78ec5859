// Shared target health, end to end: two worker processes and an upstream the test can make stall,
// refuse with a 429, or answer. After N failures (first-token timeouts) a target's breaker opens in
// Redis and every worker skips it for the route's next target without paying its timeout, until a
// half-open probe after the cool-down succeeds; a 429's Retry-After opens it at once. The breaker
// shows on both workers' /metrics and in `switchboard status`.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { scrape, total } from "@switchboard/testing";
import { startStack, type Stack } from "../support/stack.ts";

const firstTokenTimeoutMs = 600;
const coolDownMs = 5000;
const text = "The backup answered.";
let mock: MockUpstream;
let flaky: Server;
let flakyMode: "stall" | "answer" | "rate-limited" = "stall";
let flakyCalls = 0;
let stack: Stack;
let client: OpenAI;

/** The target under test: stalls before its first token, answers, or refuses with 429 Retry-After: 2. */
function startFlakyUpstream(): Promise<string> {
  flaky = createServer((request, response) => {
    request.resume();
    flakyCalls++;
    if (flakyMode === "rate-limited") {
      response.writeHead(429, { "content-type": "application/json", "retry-after": "2" });
      return response.end(JSON.stringify({ error: { message: "slow down", type: "rate_limit_error" } }));
    }
    response.writeHead(200, { "content-type": "text/event-stream" });
    if (flakyMode === "stall") return;
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    response.end(
      `${chunk({ role: "assistant", content: "The flaky one answered." }, null)}${chunk({}, "stop")}data: [DONE]\n\n`,
    );
  });
  return new Promise((resolve) =>
    flaky.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(flaky.address() as AddressInfo).port}/v1`)),
  );
}

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 4 });
  const mockUrl = (await mock.listen(0)).url;
  const flakyUrl = await startFlakyUpstream();
  const upstream = (baseUrl: string) => ({ type: "openai", baseUrl, apiKeyEnv: "UPSTREAM_API_KEY" });
  stack = await startStack("health", {
    workers: 2,
    routes: {
      providers: { flaky: upstream(flakyUrl), backup: upstream(mockUrl) },
      routes: {
        guarded: {
          provider: "flaky",
          model: "flaky-model",
          fallbacks: [{ provider: "backup", model: "backup-model" }],
          passFields: ["mock"],
          health: { failures: 2, coolDownMs },
        },
      },
    },
    // At most 5 jobs each: a burst of 10 is shared by both workers.
    workerEnv: {
      WORKER_CONCURRENCY: "5",
      UPSTREAM_RETRIES: "0",
      UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: String(firstTokenTimeoutMs),
    },
  });
  client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
  flaky?.closeAllConnections();
  flaky?.close();
});

async function ask(): Promise<{ content: string; firstTokenMs: number }> {
  const started = performance.now();
  const stream = await client.chat.completions.create({
    model: "guarded",
    messages: [{ role: "user", content: "Hi" }],
    stream: true,
    mock: { text },
  } as never as OpenAI.ChatCompletionCreateParamsStreaming);
  let content = "";
  let firstTokenMs = Number.NaN;
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta.content;
    if (!piece) continue;
    if (content === "") firstTokenMs = performance.now() - started;
    content += piece;
  }
  return { content, firstTokenMs };
}

/** Each worker's breaker state for the flaky target on /metrics (0 closed, 1 half-open, 2 open). */
async function breakerStates(): Promise<number[]> {
  const samples = await Promise.all(stack.workers.map((worker) => scrape(String(worker.readyLine.metricsUrl))));
  return samples.map((worker) =>
    total(worker, "switchboard_target_breaker_state", { switchboard_target: "flaky/flaky-model" }),
  );
}

async function status(): Promise<string> {
  const cli = fileURLToPath(new URL("../../packages/doctor/src/cli.ts", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [cli, "status"], {
    env: { PATH: process.env.PATH ?? "", REDIS_URL: stack.redisUrl, REDIS_KEY_PREFIX: stack.prefix },
  });
  return stdout;
}

describe("shared target health", () => {
  it("opens the breaker after N stalls, then every worker skips the target with no added latency", async () => {
    flakyMode = "stall";
    for (let request = 0; request < 2; request++) {
      const answer = await ask();
      expect(answer.content).toBe(text);
      expect(answer.firstTokenMs).toBeGreaterThanOrEqual(firstTokenTimeoutMs);
    }
    expect(flakyCalls).toBe(2);
    // Both workers read the shared breaker as open (each refreshes its copy within ~200 ms).
    await vi.waitFor(async () => expect(await breakerStates()).toEqual([2, 2]), { timeout: 3000 });
    const table = await status();
    expect(table).toMatch(/flaky\/flaky-model\s+open \(probe in \d+ s\)/);
    expect(table).toMatch(/backup\/backup-model\s+closed/);
    const answers = await Promise.all(Array.from({ length: 10 }, () => ask()));
    for (const answer of answers) {
      expect(answer.content).toBe(text);
      expect(answer.firstTokenMs).toBeLessThan(firstTokenTimeoutMs);
    }
    expect(flakyCalls).toBe(2);
  });

  it("lets one half-open probe through after the cool-down, and closes the breaker when it succeeds", async () => {
    flakyMode = "answer";
    await vi.waitFor(async () => expect(await breakerStates()).toEqual([1, 1]), { timeout: coolDownMs + 2000 });
    const probe = await ask();
    expect(probe.content).toBe("The flaky one answered.");
    expect(flakyCalls).toBe(3);
    await vi.waitFor(async () => expect(await breakerStates()).toEqual([0, 0]), { timeout: 3000 });
    const estimates = await Promise.all(stack.workers.map((worker) => scrape(String(worker.readyLine.metricsUrl))));
    for (const samples of estimates)
      expect(
        total(samples, "switchboard_target_first_token_estimate_seconds", { switchboard_target: "flaky/flaky-model" }),
      ).toBeGreaterThan(0);
    const answers = await Promise.all(Array.from({ length: 4 }, () => ask()));
    for (const answer of answers) expect(answer.content).toBe("The flaky one answered.");
    expect(flakyCalls).toBe(7);
    expect(await status()).toMatch(/flaky\/flaky-model\s+closed\s+\d+ ms/);
  });

  it("opens the breaker at once until a 429's Retry-After has passed", async () => {
    flakyMode = "rate-limited";
    const limited = await ask();
    expect(limited.content).toBe(text);
    expect(flakyCalls).toBe(8);
    await vi.waitFor(async () => expect(await breakerStates()).toEqual([2, 2]), { timeout: 3000 });
    const skipped = await ask();
    expect(skipped.content).toBe(text);
    expect(flakyCalls).toBe(8);
  });
});
