// The Grafana dashboard (infra/grafana) is held to the code: every metric its panels query is one a
// running ingress or worker exports (scraped here after traffic that moves every one of them), its
// JSON has what Grafana needs to load it, and its provisioning matches docker-compose.yml and the
// Prometheus jobs. No Grafana runs here; compose-check starts the compose file for real.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sample, scrape, total } from "@switchboard/testing";
import { parse } from "yaml";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { loadCompose, readRepoFile } from "../support/deploy-files.ts";
import { routesWithFallback, startStack, type Stack } from "../support/stack.ts";

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
}

const dashboardPath = "infra/grafana/dashboards/switchboard.json";
const dashboard = JSON.parse(readRepoFile(dashboardPath)) as Dashboard;
const queryPanels = (dashboard.panels ?? []).filter((panel) => panel.type !== "row");
const expressions = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? ""));

/** Series Prometheus makes itself for every target it scrapes; no service exports them. */
const prometheusOwnSeries = new Set(["up"]);

const promqlWords = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
]);

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or numbers. */
function metricNamesIn(expression: string): string[] {
  const bare = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values)
    .replace(/\{[^}]*\}/g, "") // label matchers
    .replace(/\[[^\]]*\]/g, "") // ranges ($__rate_interval included)
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ""); // label lists
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const next = bare.slice((match.index ?? 0) + word.length).trimStart();
    if (next.startsWith("(") || promqlWords.has(word)) continue;
    names.add(word);
  }
  return [...names];
}

describe("the PromQL reader of this test", () => {
  it("finds metric names and leaves functions, keywords and labels out", () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, switchboard_route) (rate(a_seconds_bucket{job="x"}[$__rate_interval]))) - max by (s) (b_depth) + sum(up{job="w"})',
      ).sort(),
    ).toEqual(["a_seconds_bucket", "b_depth", "up"]);
  });
});

describe("the Grafana dashboard's JSON", () => {
  it("is a dashboard Grafana can load: uid, title, schemaVersion, panels with ids, positions, a data source and queries", () => {
    expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(dashboard.title).toBe("Switchboard");
    expect(Number.isInteger(dashboard.schemaVersion)).toBe(true);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const panels = dashboard.panels ?? [];
    expect(queryPanels.length).toBeGreaterThanOrEqual(10);
    const ids = panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect(panel.title, `panel ${panel.id}`).toBeTruthy();
      const position = panel.gridPos!;
      expect(position.x + position.w, panel.title).toBeLessThanOrEqual(24);
      expect(position.h, panel.title).toBeGreaterThan(0);
    }
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "prometheus" });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      const refIds = panel.targets!.map((target) => target.refId);
      expect(new Set(refIds).size, panel.title).toBe(refIds.length);
      for (const target of panel.targets!) {
        expect(target.datasource, panel.title).toEqual(panel.datasource);
        expect(target.expr, panel.title).toMatch(/\S/);
        // Balanced brackets: a typo shows here, not as an empty panel.
        for (const [open, close] of ["()", "{}", "[]"])
          expect(target.expr!.split(open!).length, `${panel.title}: ${open}${close}`).toBe(
            target.expr!.split(close!).length,
          );
      }
    }
  });

  it("shows what an operator needs: time to first token by route and model, added, upstream and queue wait; queue depth, streams, workers; outcomes, errors, cancels, retries and fallbacks", () => {
    const all = expressions.join("\n");
    for (const needed of [
      /gen_ai_server_time_to_first_token_seconds_bucket.*switchboard_route_model|switchboard_route_model.*gen_ai_server_time_to_first_token_seconds_bucket/,
      /gen_ai_server_time_to_first_token_seconds_bucket.* - .*gen_ai_client_operation_time_to_first_chunk_seconds_bucket/,
      /by \(le, switchboard_provider\) \(rate\(gen_ai_client_operation_time_to_first_chunk_seconds_bucket/,
      /switchboard_queue_wait_seconds_bucket/,
      /switchboard_queue_depth/,
      /by \(instance\) \(switchboard_streams_active\)/,
      /up\{job="switchboard-worker"\}/,
      /by \(switchboard_outcome\)/,
      /by \(error_type\) \(rate\(switchboard_errors_total/,
      /switchboard_cancellations_total/,
      /switchboard_retries_total/,
      /switchboard_fallbacks_total/,
    ])
      expect(all).toMatch(needed);
  });

  it("is provisioned by docker-compose.yml with the Prometheus of the compose file, under the uid the panels use", () => {
    const compose = loadCompose() as unknown as {
      services: Record<string, { image?: string; volumes?: string[]; depends_on?: unknown }>;
    };
    const grafana = compose.services.grafana!;
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    const mounts = Object.fromEntries(
      (grafana.volumes ?? []).map((volume) => {
        const [host, container] = volume.split(":");
        return [container!, host!];
      }),
    );
    expect(mounts["/etc/grafana/provisioning"]).toBe("./infra/grafana/provisioning");
    const dashboardsDirectory = Object.entries(mounts).find(([, host]) => host === "./infra/grafana/dashboards")?.[0];
    const provider = parse(readRepoFile("infra/grafana/provisioning/dashboards/switchboard.yml")) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    expect(provider.providers[0]!.type).toBe("file");
    expect(provider.providers[0]!.options.path).toBe(dashboardsDirectory);
    const sources = parse(readRepoFile("infra/grafana/provisioning/datasources/prometheus.yml")) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    };
    expect(sources.datasources).toHaveLength(1);
    expect(sources.datasources[0]).toMatchObject({ uid: "prometheus", type: "prometheus" });
    const prometheusPort = /^(\d+):/.exec(
      String((compose.services.prometheus as { ports?: string[] }).ports?.[0]),
    )?.[1];
    expect(sources.datasources[0]!.url).toBe(`http://prometheus:${prometheusPort}`);
    // The Prometheus jobs the panels filter on are the ones it scrapes.
    const jobs = (
      parse(readRepoFile("infra/prometheus/prometheus.yml")) as { scrape_configs: Array<{ job_name: string }> }
    ).scrape_configs.map((config) => config.job_name);
    for (const [, job] of expressions.join("\n").matchAll(/job="([^"]+)"/g)) expect(jobs).toContain(job);
  });

  it("pins every image docker-compose.yml pulls to an exact version", () => {
    const compose = loadCompose() as unknown as { services: Record<string, { image?: string; build?: unknown }> };
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue; // built here, from the Dockerfile
      expect(service.image, name).toMatch(/^[a-z0-9./-]+:v?\d+\.\d+\.\d+$/);
    }
  });
});

describe("every metric the dashboard queries is one the services export", () => {
  let mock: MockUpstream;
  let stack: Stack;
  let exported: Sample[] = [];

  beforeAll(async () => {
    mock = createMockUpstream({ tokens: 5, tokenDelayMs: 1 });
    const mockUrl = (await mock.listen(0)).url;
    stack = await startStack("grafana", {
      // fallback-model: connection refused, retried, then the fallback answers.
      routes: routesWithFallback(mockUrl),
      workerEnv: { UPSTREAM_RETRIES: "1", UPSTREAM_RETRY_BACKOFF_MS: "1" },
    });
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const messages = [{ role: "user" as const, content: "Hi" }];
    // A streamed answer, a retry and a fallback, an error and a cancel: every series gets a sample.
    for await (const _chunk of await client.chat.completions.create({ model: "m", messages, stream: true }));
    await client.chat.completions.create({ model: "fallback-model", messages });
    const failed = await fetch(`${stack.urls[0]}/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", messages, mock: { fail: { kind: "http", status: 400 } } }),
    });
    expect(failed.status).toBe(400);
    const abort = new AbortController();
    const slow = await client.chat.completions.create(
      { model: "m", messages, stream: true, mock: { tokens: 200, tokenDelayMs: 20 } } as never,
      { signal: abort.signal },
    );
    for await (const chunk of slow as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>)
      if (chunk.choices[0]?.delta.content) break;
    abort.abort();

    const ingressUrl = String(stack.ingresses[0]!.readyLine.metricsUrl);
    const workerUrl = String(stack.workers[0]!.readyLine.metricsUrl);
    // Metrics are recorded as requests end: scrape until the cancel has reached both services.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [ingress, worker] = await Promise.all([scrape(ingressUrl), scrape(workerUrl)]);
      exported = [...ingress, ...worker];
      const cancelled =
        total(ingress, "switchboard_cancellations_total") >= 1 && total(worker, "switchboard_cancellations_total") >= 1;
      if (cancelled || Date.now() > deadline) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  afterAll(async () => {
    await stack?.stop();
    await mock?.close();
  });

  it("finds each in a scrape of a running ingress and worker", () => {
    const names = new Set(exported.map((sample) => sample.name));
    const queried = [...new Set(expressions.flatMap(metricNamesIn))].filter((name) => !prometheusOwnSeries.has(name));
    expect(queried.length).toBeGreaterThanOrEqual(10);
    expect(queried.filter((name) => !names.has(name))).toEqual([]);
    // The labels the panels group by are on those series.
    const labelsOf = (name: string) =>
      new Set(exported.filter((s) => s.name === name).flatMap((s) => Object.keys(s.labels)));
    expect([...labelsOf("gen_ai_server_time_to_first_token_seconds_bucket")]).toEqual(
      expect.arrayContaining(["le", "switchboard_route", "switchboard_route_model"]),
    );
    expect([...labelsOf("switchboard_retries_total")]).toEqual(
      expect.arrayContaining(["switchboard_provider", "error_type"]),
    );
    expect(total(exported, "switchboard_retries_total", { switchboard_provider: "dead" })).toBeGreaterThanOrEqual(1);
    expect(total(exported, "switchboard_fallbacks_total", { switchboard_provider: "dead" })).toBe(1);
  });
});
