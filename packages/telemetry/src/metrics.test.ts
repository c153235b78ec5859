// What Prometheus reads from createMetrics: a real meter and exporter, scraped over HTTP. Histograms
// in seconds carry `_seconds`, counters `_total`, counted things (`{request}`) no suffix at all.
import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createMetrics, type Metrics } from "./metrics.ts";
import { parsePrometheusText, scrape } from "@switchboard/testing";

let metrics: Metrics | undefined;
let server: Server | undefined;
afterEach(async () => {
  server?.close();
  await metrics?.shutdown();
  metrics = server = undefined;
});

async function serve(record: (metrics: Metrics) => void): Promise<string> {
  metrics = createMetrics("metrics-test", {});
  record(metrics);
  const served = await metrics.serve(0, "127.0.0.1");
  server = served.server;
  return served.url;
}

describe("Prometheus names", () => {
  it("puts the unit on the name and _total on counters, and keeps the OpenTelemetry names otherwise", async () => {
    const url = await serve(({ meter }) => {
      meter
        .createHistogram("gen_ai.server.request.duration", {
          unit: "s",
          advice: { explicitBucketBoundaries: [0.1, 1] },
        })
        .record(0.25, { "switchboard.outcome": "finish" });
      meter.createHistogram("gen_ai.client.token.usage", { unit: "{token}" }).record(12);
      meter.createHistogram("already.in_seconds", { unit: "s" }).record(1);
      meter.createCounter("switchboard.errors", { unit: "{request}" }).add(2, { "error.type": "upstream_unavailable" });
      meter.createCounter("busy.time", { unit: "s" }).add(1.5);
      meter.createUpDownCounter("switchboard.streams.active", { unit: "{request}" }).add(3);
    });
    const samples = await scrape(url);
    const names = new Set(samples.map((sample) => sample.name));
    for (const name of [
      "gen_ai_server_request_duration_seconds_bucket",
      "gen_ai_server_request_duration_seconds_sum",
      "gen_ai_server_request_duration_seconds_count",
      "gen_ai_client_token_usage_count",
      "already_in_seconds_count",
      "switchboard_errors_total",
      "busy_time_seconds_total",
      "switchboard_streams_active",
    ]) {
      expect(names, name).toContain(name);
    }
    expect(
      [...names].filter(
        (name) =>
          name.startsWith("gen_ai_server_request_duration_") &&
          !name.startsWith("gen_ai_server_request_duration_seconds_"),
      ),
    ).toEqual([]);
    expect(samples.find((sample) => sample.name === "gen_ai_server_request_duration_seconds_sum")).toMatchObject({
      labels: { switchboard_outcome: "finish" },
      value: 0.25,
    });
    expect(samples.find((sample) => sample.name === "switchboard_errors_total")).toMatchObject({
      labels: { error_type: "upstream_unavailable" },
      value: 2,
    });
    expect(samples.find((sample) => sample.name === "target_info")?.labels.service_name).toBe("metrics-test");

    const response = await fetch(url);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain("# TYPE gen_ai_server_request_duration_seconds histogram");
    // The unit metadata names the suffix (as OpenMetrics requires); annotation units are not units.
    expect(text).toContain("# UNIT gen_ai_server_request_duration_seconds seconds");
    expect(text).not.toContain("{request}");
    expect(text).not.toContain("{token}");
    expect(text).not.toContain("otel_scope_name");
    expect(parsePrometheusText(text).length).toBe(samples.length);
  });

  it("answers only GET /metrics on its own port", async () => {
    const url = await serve(() => {});
    expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
    expect((await fetch(url)).status).toBe(200);
  });
});
