// Who decides whether a request is sampled: the gateway's configured sampler, not the caller's
// traceparent (unless the operator trusts callers). Real SDK, started from OTEL_* variables, exporting
// over OTLP/HTTP to a real receiver; shutdown flushes, so what the receiver holds afterwards is
// everything that was exported.
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startTelemetry, type Telemetry } from "./start-telemetry.ts";
import {
  SpanKind,
  callerTraceContext,
  contextWithSpan,
  extractTraceContext,
  injectTraceContext,
  startSpan,
  type Span,
} from "./tracing.ts";
import { startOtlpReceiver, type OtlpReceiver } from "@switchboard/testing";

let receiver: OtlpReceiver;
let telemetry: Telemetry | undefined;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  await receiver.close();
  vi.unstubAllEnvs();
});

/** Tracing on, exporting to the receiver, with this sampler. */
function startTracing(sampler?: string): void {
  for (const name of Object.keys(process.env)) if (name.startsWith("OTEL_")) vi.stubEnv(name, undefined);
  vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url);
  vi.stubEnv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
  if (sampler) vi.stubEnv("OTEL_TRACES_SAMPLER", sampler);
  telemetry = startTelemetry("switchboard-ingress");
}

/** Ends the spans and flushes them all to the receiver. */
async function exportAll(...spans: Span[]) {
  for (const span of spans) span.end();
  await telemetry!.shutdown();
  telemetry = undefined;
  return receiver.spans;
}

function callerHeaders(sampled: boolean) {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return {
    traceId,
    spanId,
    headers: { traceparent: `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`, tracestate: "caller=opaque" },
  };
}

/** The ingress's span for a request, and the worker's span from the context the job carries. */
function serveRequest(
  headers: Record<string, string>,
  trustCaller: boolean,
  name: string,
): { server: Span; consumer: Span } {
  const server = startSpan(name, { kind: SpanKind.SERVER, ...callerTraceContext(headers, trustCaller) });
  const carrier = injectTraceContext(contextWithSpan(server));
  const consumer = startSpan(`process ${name}`, { kind: SpanKind.CONSUMER, parent: extractTraceContext(carrier) });
  return { server, consumer };
}

describe("a caller's traceparent, by default", () => {
  it("cannot switch sampling on: with roots unsampled, a sampled flag records and exports nothing", async () => {
    startTracing("parentbased_always_off");
    const { headers } = callerHeaders(true);
    const { server, consumer } = serveRequest(headers, false, "forced");
    expect(server.isRecording()).toBe(false);
    // The worker follows the ingress's decision, not the caller's.
    expect(consumer.isRecording()).toBe(false);
    expect(injectTraceContext(contextWithSpan(server))?.traceparent).toMatch(/-00$/);
    // A span of our own proves the export path works; nothing of the forced request arrives.
    const control = startSpan("control", {
      kind: SpanKind.SERVER,
      ...callerTraceContext(callerHeaders(true).headers, true),
    });
    const exported = await exportAll(server, consumer, control);
    expect(exported.map((span) => span.name)).toEqual(["control"]);
  });

  it("cannot switch sampling off, and becomes a link: the gateway's own trace continues into the worker", async () => {
    startTracing("parentbased_always_on");
    const caller = callerHeaders(false);
    const { server, consumer } = serveRequest(caller.headers, false, "unsampled-by-caller");
    expect(server.isRecording()).toBe(true);
    expect(consumer.isRecording()).toBe(true);
    const exported = await exportAll(consumer, server);
    const serverSpan = exported.find((span) => span.kind === "SERVER")!;
    const consumerSpan = exported.find((span) => span.kind === "CONSUMER")!;
    expect(serverSpan.traceId).not.toBe(caller.traceId);
    expect(serverSpan.parentSpanId).toBeUndefined();
    // The caller's ids, not its tracestate.
    expect(serverSpan.links).toEqual([{ traceId: caller.traceId, spanId: caller.spanId, traceState: undefined }]);
    expect(consumerSpan.traceId).toBe(serverSpan.traceId);
    expect(consumerSpan.parentSpanId).toBe(serverSpan.spanId);
  });

  it("adds no link when there is none or it is malformed", async () => {
    startTracing();
    const none = startSpan("none", { kind: SpanKind.SERVER, ...callerTraceContext({}, false) });
    const malformed = startSpan("malformed", {
      kind: SpanKind.SERVER,
      ...callerTraceContext({ traceparent: "00-xyz-abc-01" }, false),
    });
    const exported = await exportAll(none, malformed);
    expect(exported.map((span) => [span.name, span.links.length, span.parentSpanId])).toEqual([
      ["none", 0, undefined],
      ["malformed", 0, undefined],
    ]);
  });
});

describe("a trusted caller's traceparent", () => {
  it("joins the caller's trace and follows its flag, both ways, into the worker", async () => {
    startTracing("parentbased_always_off");
    const sampledCaller = callerHeaders(true);
    const unsampledCaller = callerHeaders(false);
    const sampled = serveRequest(sampledCaller.headers, true, "sampled");
    const unsampled = serveRequest(unsampledCaller.headers, true, "unsampled");
    expect([sampled.server.isRecording(), sampled.consumer.isRecording()]).toEqual([true, true]);
    expect([unsampled.server.isRecording(), unsampled.consumer.isRecording()]).toEqual([false, false]);
    const exported = await exportAll(sampled.consumer, sampled.server, unsampled.consumer, unsampled.server);
    expect(exported.map((span) => span.name).sort()).toEqual(["process sampled", "sampled"]);
    const serverSpan = exported.find((span) => span.name === "sampled")!;
    expect(serverSpan).toMatchObject({ traceId: sampledCaller.traceId, parentSpanId: sampledCaller.spanId, links: [] });
    expect(exported.find((span) => span.name === "process sampled")).toMatchObject({
      traceId: sampledCaller.traceId,
      parentSpanId: serverSpan.spanId,
    });
  });
});

describe("tracing off", () => {
  it("ignores the headers and costs nothing", () => {
    for (const name of Object.keys(process.env)) if (name.startsWith("OTEL_")) vi.stubEnv(name, undefined);
    telemetry = startTelemetry("switchboard-ingress");
    expect(telemetry.tracing).toBe(false);
    const { parent, links } = callerTraceContext(callerHeaders(true).headers, true);
    expect(links).toEqual([]);
    expect(startSpan("request", { kind: SpanKind.SERVER, parent, links }).isRecording()).toBe(false);
  });
});
