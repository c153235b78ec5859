// A conversation's timeline through the admin endpoint and `switchboard timeline`: a normal turn,
// a turn superseded by the next, a turn that failed twice and then answered from its fallback
// target, a failed turn, and a hedged turn whose stalled first call lost to its hedge, each with its
// attempts; ids, times, counts and codes, no content;
// the Redis key expires (TIMELINE_TTL_SECONDS). Only admin keys may read it: an API key gets 403.
// With tracing on, each turn names its trace, whose spans name the conversation.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, mockText, type MockUpstream } from "@switchboard/mock-upstream";
import { relayKeys } from "@switchboard/relay";
import { startOtlpReceiver, type OtlpReceiver } from "@switchboard/testing";
import { startTurn } from "../support/conversation-turns.ts";
import { startStack, type Stack } from "../support/stack.ts";

const bin = fileURLToPath(new URL("../../node_modules/.bin/switchboard", import.meta.url));
const apiKey = "timeline-test-api-key";
const adminKey = "timeline-test-admin-key";
const ttlSeconds = 600;
const conversationId = `conv-${randomBytes(4).toString("hex")}`;
const prompt = "Tell me something.";

let mock: MockUpstream;
let receiver: OtlpReceiver;
let stack: Stack;
let redis: Redis;
let baseUrl: string;

interface TimelineJson {
  conversation_id: string;
  turns: Array<{
    requestId: string;
    turn?: {
      outcome: string;
      errorCode?: string;
      queueWaitMs?: number;
      firstTokenMs?: number;
      route: string;
      traceId?: string;
    };
    attempts: Array<{ attempt: string; outcome: string; errorCode?: string; model: string; outputTokens?: number }>;
  }>;
}

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 5, tokenDelayMs: 1 });
  const { url } = await mock.listen(0);
  receiver = await startOtlpReceiver();
  stack = await startStack("timeline", {
    workers: 1,
    routes: {
      providers: { upstream: { type: "openai", baseUrl: url, apiKeyEnv: "UPSTREAM_API_KEY" } },
      routes: {
        "*": { provider: "upstream", passFields: ["mock"] },
        "with-fallback": {
          provider: "upstream",
          model: "primary",
          fallbacks: [{ provider: "upstream", model: "secondary" }],
          passFields: ["mock"],
        },
        hedged: {
          provider: "upstream",
          model: "primary",
          fallbacks: [{ provider: "upstream", model: "hedge" }],
          passFields: ["mock"],
          hedge: { afterMs: 200, budgetPercent: 100 },
        },
      },
    },
    env: {
      TIMELINE_TTL_SECONDS: String(ttlSeconds),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "20",
    },
    ingressEnv: { API_KEYS: apiKey, ADMIN_API_KEYS: adminKey },
  });
  redis = new Redis(stack.redisUrl);
  baseUrl = (stack.urls[0] as string).replace(/\/v1$/, "");

  const turn = (body: Record<string, unknown>, model?: string) =>
    startTurn({
      url: stack.urls[0] as string,
      apiKey,
      headers: { "x-conversation-id": conversationId },
      body,
      ...(model ? { model } : {}),
    });
  // 1. A normal turn.
  const normal = await turn({ mock: { tokens: 5, tokenDelayMs: 1 } }).done;
  expect(normal.text).toBe(mockText(5));
  // 2. A slow turn, superseded by 3. once it streams.
  const slow = turn({ mock: { tokens: 200, tokenDelayMs: 20 } });
  await slow.firstToken;
  // 3. Fails twice (the first call and its retry), then answers from the fallback target.
  const tag = `fallback-${randomBytes(4).toString("hex")}`;
  const fallback = await turn(
    { mock: { tokens: 5, tokenDelayMs: 1, tag, fail: { kind: "http", status: 500, times: 2 } } },
    "with-fallback",
  ).done;
  expect((await slow.done).finishReason).toBe("stop");
  expect(fallback.text).toBe(mockText(5));
  // 4. Fails for good.
  const failed = await turn({ mock: { fail: { kind: "http", status: 500 } } }).done;
  expect(failed.error).toBeDefined();
  // 5. The primary stalls before its first token; the hedge started after 200 ms answers.
  const hedgeTag = `hedge-${randomBytes(4).toString("hex")}`;
  const hedged = await turn(
    { mock: { tokens: 5, tokenDelayMs: 1, tag: hedgeTag, fail: { kind: "stall", times: 1 } } },
    "hedged",
  ).done;
  expect(hedged.text).toBe(mockText(5));
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
  await mock?.close();
  await receiver?.close();
});

async function readTimeline(key: string): Promise<Response> {
  return fetch(`${baseUrl}/admin/conversations/${conversationId}/timeline`, {
    headers: { authorization: `Bearer ${key}` },
  });
}

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe("a conversation's timeline", () => {
  it("lists each turn with its attempts through the admin endpoint, without content", async () => {
    // The last writes (the ingress's turn, the worker's attempt) leave as the answers end.
    const timeline = await vi.waitFor(async () => {
      const response = await readTimeline(adminKey);
      expect(response.status).toBe(200);
      const body = (await response.json()) as TimelineJson;
      expect(body.turns).toHaveLength(5);
      for (const turn of body.turns) expect(turn.turn).toBeDefined();
      expect(body.turns.map((turn) => turn.attempts.length)).toEqual([1, 1, 3, 2, 2]);
      return body;
    });
    const [normal, superseded, fellBack, failed, hedged] = timeline.turns;
    expect(normal?.turn).toMatchObject({ outcome: "finish", route: "*" });
    expect(normal?.turn?.queueWaitMs).toBeGreaterThanOrEqual(0);
    expect(normal?.turn?.firstTokenMs).toBeGreaterThanOrEqual(normal?.turn?.queueWaitMs ?? 0);
    expect(normal?.attempts[0]).toMatchObject({ attempt: "first", outcome: "finish", outputTokens: 5 });

    expect(superseded?.turn?.outcome).toBe("superseded");
    expect(superseded?.attempts[0]).toMatchObject({ attempt: "first", outcome: "superseded" });

    expect(fellBack?.turn).toMatchObject({ outcome: "finish", route: "with-fallback" });
    expect(fellBack?.attempts.map((attempt) => [attempt.attempt, attempt.model, attempt.outcome])).toEqual([
      ["first", "primary", "failed"],
      ["retry", "primary", "failed"],
      ["fallback", "secondary", "finish"],
    ]);
    expect(fellBack?.attempts[0]?.errorCode).toBe("upstream_unavailable");

    expect(failed?.turn).toMatchObject({ outcome: "error", errorCode: "upstream_unavailable" });
    expect(failed?.attempts.map((attempt) => [attempt.attempt, attempt.outcome])).toEqual([
      ["first", "failed"],
      ["retry", "failed"],
    ]);

    expect(hedged?.turn).toMatchObject({ outcome: "finish", route: "hedged" });
    expect(hedged?.attempts.map((attempt) => [attempt.attempt, attempt.model, attempt.outcome])).toEqual([
      ["first", "primary", "lost"],
      ["hedge", "hedge", "finish"],
    ]);

    const text = JSON.stringify(timeline);
    expect(text).not.toContain(prompt);
    expect(text).not.toContain(mockText(5).trim());
  });

  it("names each turn's trace, whose spans name the conversation", async () => {
    const response = await readTimeline(adminKey);
    const { turns } = (await response.json()) as TimelineJson;
    const traceIds = turns.map((turn) => turn.turn?.traceId);
    for (const traceId of traceIds) expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await receiver.waitFor(
      (received) =>
        traceIds.every((traceId) => received.some((span) => span.kind === "SERVER" && span.traceId === traceId)) &&
        received.some((span) => span.kind === "CONSUMER" && span.traceId === traceIds[0]),
    );
    const servers = traceIds.map((traceId) => spans.find((span) => span.kind === "SERVER" && span.traceId === traceId));
    for (const server of servers) expect(server?.attributes["gen_ai.conversation.id"]).toBe(conversationId);
    expect(servers.map((server) => server?.attributes["switchboard.superseded"] === true)).toEqual([
      false,
      true,
      false,
      false,
      false,
    ]);
    const consumer = spans.find((span) => span.kind === "CONSUMER" && span.traceId === traceIds[0]);
    expect(consumer?.attributes["gen_ai.conversation.id"]).toBe(conversationId);
  });

  it("keeps the timeline in Redis for TIMELINE_TTL_SECONDS", async () => {
    const ttl = await redis.pttl(relayKeys(stack.prefix).timeline(conversationId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(ttlSeconds * 1000);
  });

  it("refuses API keys (403) and missing keys (401); an admin key is not an API key", async () => {
    expect((await readTimeline(apiKey)).status).toBe(403);
    expect((await fetch(`${baseUrl}/admin/conversations/${conversationId}/timeline`)).status).toBe(401);
    const chat = await fetch(`${stack.urls[0]}/models`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(chat.status).toBe(401);
  });

  it("prints the same turns with switchboard timeline", async () => {
    const result = await run(["timeline", conversationId, "--url", stack.urls[0] as string, "--key", adminKey]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`conversation ${conversationId}: 5 turn(s)`);
    expect(result.stdout.match(/^ {2}attempt /gm)).toHaveLength(9);
    for (const word of ["superseded", "fallback", "retry", "hedge", "lost", "error (upstream_unavailable)"])
      expect(result.stdout).toContain(word);
    expect(result.stdout).not.toContain(prompt);

    const refused = await run(["timeline", conversationId, "--url", baseUrl, "--key", apiKey]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("403");
  });
});
