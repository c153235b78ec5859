// The log line's shape (what the docs, the tests and `npm start` read), redaction of secrets by path,
// errors with stack and cause but without the request or command they carry, and LOG_LEVEL.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, type LogLevel } from "./logger.ts";
import { startTelemetry, type Telemetry } from "./start-telemetry.ts";
import { SpanKind, startSpan, traceIdsOf, withSpan } from "./tracing.ts";

function collect(level: LogLevel = "debug", base = {}) {
  const lines: string[] = [];
  const log = createLogger("test-service", level, base, { write: (line) => void lines.push(line) });
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, lines, entries };
}

let telemetry: Telemetry | undefined;
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  vi.unstubAllEnvs();
});

describe("the log line", () => {
  it("is one JSON object per line: time (ISO), level (its name), service, msg and the event's fields", () => {
    const { log, lines, entries } = collect("info", { workerId: "w1" });
    log.info("request ended", { requestId: "abcdefgh12345678", durationMs: 12 });
    log.warn("no fields");
    expect(lines.every((line) => line.endsWith("\n") && !line.slice(0, -1).includes("\n"))).toBe(true);
    const [first, second] = entries();
    expect(first).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: "info",
      service: "test-service",
      workerId: "w1",
      msg: "request ended",
      requestId: "abcdefgh12345678",
      durationMs: 12,
    });
    expect(second).toMatchObject({ level: "warn", msg: "no fields", service: "test-service" });
    expect(lines[0]).toMatch(/^\{"level":"info"/);
  });

  it("gives a child's lines its fields and its parent's, the call's own winning", () => {
    const { log, entries } = collect("info");
    const child = log.child({ requestId: "abcdefgh12345678" }).child({ callerRequestId: "turn-1" });
    child.debug("not written");
    child.info("client went away", { started: true });
    expect(entries()).toEqual([
      expect.objectContaining({
        msg: "client went away",
        requestId: "abcdefgh12345678",
        callerRequestId: "turn-1",
        started: true,
      }),
    ]);
  });

  it("follows the level: below it nothing is written", () => {
    const { log, entries } = collect("warn");
    log.debug("debug line");
    log.info("info line");
    log.warn("warn line");
    log.error("error line");
    expect(entries().map((entry) => entry.level)).toEqual(["warn", "error"]);
  });

  it("carries trace_id and span_id inside a span; a child bound to a span keeps that span's ids", () => {
    vi.stubEnv("OTEL_TRACES_EXPORTER", "console");
    telemetry = startTelemetry("test");
    const { log, entries } = collect();
    const request = startSpan("request", { kind: SpanKind.SERVER });
    const other = startSpan("other", { kind: SpanKind.SERVER });
    const bound = log.child(traceIdsOf(request));
    withSpan(request, () => log.info("inside"));
    log.info("outside");
    withSpan(other, () => bound.info("bound, inside another span"));
    const [inside, outside, boundLine] = entries();
    expect(inside).toMatchObject({ trace_id: request.spanContext().traceId, span_id: request.spanContext().spanId });
    expect(outside).not.toHaveProperty("trace_id");
    expect(boundLine).toMatchObject({ trace_id: request.spanContext().traceId, span_id: request.spanContext().spanId });
  });
});

describe("secrets", () => {
  it("are replaced by [redacted] at the known paths, at the top and one level down", () => {
    const { log, lines } = collect();
    log.info("careless", {
      authorization: "Bearer sk-top-secret-1",
      headers: { authorization: "Bearer sk-top-secret-2", cookie: "session=sk-top-secret-3" },
      upstream: { apiKey: "sk-top-secret-4", headers: { authorization: "Bearer sk-top-secret-5" } },
      apiKey: "sk-top-secret-6",
      password: "sk-top-secret-7",
      keys: 3,
    });
    const text = lines.join("");
    expect(text).not.toMatch(/sk-top-secret/);
    expect(JSON.parse(text)).toMatchObject({
      authorization: "[redacted]",
      headers: { authorization: "[redacted]", cookie: "[redacted]" },
      upstream: { apiKey: "[redacted]", headers: { authorization: "[redacted]" } },
      keys: 3,
    });
  });
});

describe("errors", () => {
  it("keep type, message, code, stack and cause, and drop what else they carry", () => {
    const { log, entries } = collect();
    const cause = Object.assign(new Error("ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });
    const error = Object.assign(new Error("enqueue failed", { cause }), {
      code: "E_ENQUEUE",
      command: { name: "xadd", args: ["key", "relayed text that must stay out"] },
      headers: { authorization: "Bearer sk-in-an-error" },
    });
    log.error("enqueue failed", { error });
    const [entry] = entries();
    const logged = entry!.error as Record<string, unknown>;
    expect(logged).toMatchObject({ type: "Error", message: "enqueue failed", code: "E_ENQUEUE" });
    expect(logged.stack).toMatch(/^Error: enqueue failed\n\s+at /);
    expect(logged.cause).toMatchObject({ type: "Error", message: "ECONNREFUSED 127.0.0.1:6379", code: "ECONNREFUSED" });
    expect((logged.cause as { stack: string }).stack).toMatch(/at /);
    expect(JSON.stringify(entry)).not.toMatch(/relayed text|sk-in-an-error/);
  });

  it("leave a non-Error value under `error` as it is", () => {
    const { log, entries } = collect();
    log.warn("odd", { error: "a string" });
    expect(entries()[0]).toMatchObject({ error: "a string" });
  });
});
