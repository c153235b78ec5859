// Both services' /metrics endpoints are scraped and parsed the way
// Prometheus would; the counters and histograms move as requests succeed, fail, fall back and are
// cancelled. Metrics are on without any tracing configuration.
import OpenAI from "openai";
import { describe, expect } from "vitest";
import { routesWithFallback } from "../support/stack.ts";
import { stackTest } from "../support/stack-test.ts";
import { scrape, total, type Sample } from "@switchboard/testing";

interface MetricsUrls {
  ingress: string;
  worker: string;
}

const it = stackTest("metrics", {
  mock: { tokens: 10, tokenDelayMs: 1 },
  routes: routesWithFallback,
  // One call per target, so the counts below are per target (retries: test/faults and tracing.test.ts).
  workerEnv: { UPSTREAM_RETRIES: "0" },
})
  .extend(
    "client",
    { scope: "file" },
    ({ stack }) => new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 }),
  )
  .extend(
    "metricsUrls",
    { scope: "file" },
    ({ stack }): MetricsUrls => ({
      ingress: String(stack.ingresses[0]!.readyLine.metricsUrl),
      worker: String(stack.workers[0]!.readyLine.metricsUrl),
    }),
  );

/** Polls both endpoints until check passes on a scrape (metrics are recorded as requests end). */
async function scrapeUntil(
  urls: MetricsUrls,
  check: (ingress: Sample[], worker: Sample[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ ingress: Sample[]; worker: Sample[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [ingress, worker] = await Promise.all([scrape(urls.ingress), scrape(urls.worker)]);
    if (check(ingress, worker) || Date.now() > deadline) return { ingress, worker };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("Prometheus metrics on each service", () => {
  it("answers before any request, with each service's name and the queue depth", async ({ metricsUrls }) => {
    const [ingress, worker] = await Promise.all([scrape(metricsUrls.ingress), scrape(metricsUrls.worker)]);
    expect(ingress.find((sample) => sample.name === "target_info")?.labels.service_name).toBe("switchboard-ingress");
    expect(worker.find((sample) => sample.name === "target_info")?.labels.service_name).toBe("switchboard-worker");
    // The queue depth gauge is read from Redis on every scrape.
    expect(
      ingress
        .filter((sample) => sample.name === "switchboard_queue_depth")
        .map((sample) => sample.labels.switchboard_queue_state)
        .sort(),
    ).toEqual(["active", "delayed", "prioritized", "waiting"]);
  });

  it("moves the counters and histograms as requests succeed, fail, fall back and are cancelled", async ({
    stack,
    client,
    metricsUrls,
  }) => {
    const [ingressBefore, workerBefore] = await Promise.all([scrape(metricsUrls.ingress), scrape(metricsUrls.worker)]);

    // Two good streamed answers.
    for (let index = 0; index < 2; index++) {
      const stream = await client.chat.completions.create({
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
      });
      for await (const chunk of stream) void chunk;
    }
    // One failed upstream call.
    const failed = await fetch(`${stack.urls[0]}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
        mock: { fail: { kind: "http", status: 500 } },
      }),
    });
    expect(failed.status).toBe(502);
    // One fallback.
    await client.chat.completions.create({ model: "fallback-model", messages: [{ role: "user", content: "Hi" }] });
    // One cancellation.
    const abort = new AbortController();
    const slow = await client.chat.completions.create(
      {
        model: "mock-model",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        mock: { tokens: 200, tokenDelayMs: 20 },
      } as never,
      { signal: abort.signal },
    );
    for await (const chunk of slow as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>)
      if (chunk.choices[0]?.delta.content) break;
    abort.abort();

    const delta = (after: Sample[], before: Sample[], name: string, labels: Record<string, string> = {}) =>
      total(after, name, labels) - total(before, name, labels);
    const { ingress, worker } = await scrapeUntil(
      metricsUrls,
      (ingressNow, workerNow) =>
        delta(ingressNow, ingressBefore, "switchboard_cancellations_total") >= 1 &&
        delta(workerNow, workerBefore, "switchboard_cancellations_total") >= 1,
    );

    // Ingress: what callers experience.
    expect(delta(ingress, ingressBefore, "gen_ai_server_time_to_first_token_seconds_count")).toBeGreaterThanOrEqual(4);
    expect(delta(ingress, ingressBefore, "gen_ai_server_time_to_first_token_seconds_sum")).toBeGreaterThan(0);
    expect(delta(ingress, ingressBefore, "gen_ai_server_request_duration_seconds_count")).toBe(5);
    expect(
      delta(ingress, ingressBefore, "gen_ai_server_request_duration_seconds_count", { switchboard_outcome: "finish" }),
    ).toBe(3);
    expect(delta(ingress, ingressBefore, "switchboard_errors_total", { error_type: "upstream_unavailable" })).toBe(1);
    expect(
      delta(ingress, ingressBefore, "switchboard_cancellations_total", { switchboard_cancel_reason: "client-gone" }),
    ).toBe(1);
    expect(total(ingress, "switchboard_streams_active")).toBe(0);
    // By route: the routing table's key and its upstream model, never the caller's model id.
    expect(
      delta(ingress, ingressBefore, "gen_ai_server_time_to_first_token_seconds_count", {
        switchboard_route: "fallback-model",
        switchboard_route_model: "fallback-model",
      }),
    ).toBe(1);
    expect(
      delta(ingress, ingressBefore, "gen_ai_server_request_duration_seconds_count", {
        switchboard_route: "*",
        switchboard_route_model: "*",
      }),
    ).toBe(4);
    expect(ingress.some((sample) => Object.values(sample.labels).includes("mock-model"))).toBe(false);
    const ttftBuckets = ingress.filter((sample) => sample.name === "gen_ai_server_time_to_first_token_seconds_bucket");
    expect(ttftBuckets.some((sample) => sample.labels.le === "0.01")).toBe(true);

    // Worker: the queue and the upstreams, per provider.
    expect(delta(worker, workerBefore, "switchboard_queue_wait_seconds_count")).toBe(5);
    expect(
      delta(worker, workerBefore, "gen_ai_client_operation_duration_seconds_count", {
        switchboard_provider: "primary",
      }),
    ).toBe(5);
    expect(
      delta(worker, workerBefore, "gen_ai_client_operation_duration_seconds_count", {
        switchboard_provider: "dead",
        error_type: "upstream_unavailable",
      }),
    ).toBe(1);
    expect(
      delta(worker, workerBefore, "gen_ai_client_operation_duration_seconds_count", {
        switchboard_provider: "primary",
        error_type: "upstream_unavailable",
      }),
    ).toBe(1);
    expect(
      delta(worker, workerBefore, "gen_ai_client_operation_time_to_first_chunk_seconds_count", {
        gen_ai_provider_name: "openai",
      }),
    ).toBeGreaterThanOrEqual(4);
    expect(delta(worker, workerBefore, "gen_ai_client_token_usage_sum", { gen_ai_token_type: "output" })).toBe(30);
    expect(
      delta(worker, workerBefore, "gen_ai_client_token_usage_sum", { gen_ai_token_type: "input" }),
    ).toBeGreaterThan(0);
    expect(delta(worker, workerBefore, "switchboard_fallbacks_total", { switchboard_provider: "dead" })).toBe(1);
    expect(delta(worker, workerBefore, "switchboard_errors_total", { error_type: "upstream_unavailable" })).toBe(1);
    expect(
      delta(worker, workerBefore, "switchboard_cancellations_total", { switchboard_cancel_reason: "client-gone" }),
    ).toBe(1);
    expect(total(worker, "switchboard_jobs_active")).toBe(0);

    // Units are in the names (Prometheus conventions) and in the UNIT metadata.
    expect(await (await fetch(metricsUrls.ingress)).text()).toContain(
      "# UNIT gen_ai_server_time_to_first_token_seconds seconds",
    );
    expect(await (await fetch(metricsUrls.worker)).text()).toContain(
      "# UNIT gen_ai_client_operation_duration_seconds seconds",
    );
    // Every histogram in seconds says so in its name.
    const unsuffixed = [...ingress, ...worker].filter(
      (sample) =>
        sample.name.endsWith("_bucket") &&
        !sample.name.endsWith("_seconds_bucket") &&
        !sample.name.startsWith("gen_ai_client_token_usage"),
    );
    expect(unsuffixed.map((sample) => sample.name)).toEqual([]);
  });
});
