// Structured JSON logs, one line per event, on stdout, written by pino. Never pass message content
// or secrets here: log ids, sizes, timings and codes. Inside a span, each line carries its trace_id
// and span_id, so a log line leads to its trace in Jaeger and back.
//
// The line keeps the shape the docs and tests rely on: `time` (ISO), `level` (its name), `service`,
// `msg`, the event's fields. Secrets a careless call might pass are removed by path (redact), and an
// error keeps its stack and cause (pino's error serializer) but only its plain fields: client
// errors also carry the failed command or request (ioredis's `command.args` holds relayed text).
// Nothing logs per token; a call at a disabled level returns after one level check.
import { pino, stdSerializers, type DestinationStream, type Logger as PinoLogger } from "pino";
import { activeTraceIds } from "./tracing.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Field paths whose values never reach a log line, wherever a call puts them. */
const redactedPaths = [
  "authorization",
  "headers.authorization",
  "*.authorization",
  "*.headers.authorization",
  "cookie",
  "headers.cookie",
  "*.headers.cookie",
  'headers["x-api-key"]',
  'headers["api-key"]',
  "apiKey",
  "*.apiKey",
  "api_key",
  "*.api_key",
  "password",
  "*.password",
  "token",
  "*.token",
  "secret",
  "*.secret",
];

/** Kept from a serialized error; everything else on it (request, command, headers…) is dropped. */
const errorFields = ["type", "message", "stack", "code", "status", "cause", "aggregateErrors"] as const;

function plainError(serialized: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const field of errorFields) {
    const value = serialized[field];
    if (value === undefined) continue;
    if (field === "cause" && typeof value === "object" && value !== null)
      kept.cause = plainError(value as Record<string, unknown>);
    else if (field === "aggregateErrors" && Array.isArray(value))
      kept.aggregateErrors = value.map((inner) => plainError(inner as Record<string, unknown>));
    else kept[field] = value;
  }
  return kept;
}

function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  return plainError(stdSerializers.errWithCause(value) as unknown as Record<string, unknown>);
}

/** Marks a pino child bound to a span's ids: its lines keep those, not the active span's. */
const boundTraceIds = Symbol("boundTraceIds");
type MarkedLogger = PinoLogger & { [boundTraceIds]?: true };

let stdout: ReturnType<typeof pino.destination> | undefined;

/** One asynchronous writer on fd 1 per process, shared by every logger (flushed at exit by pino). */
function standardOutput(): DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: false });
  return stdout;
}

/**
 * For a process whose parent, the reader of its stdout, has died: what is still buffered for
 * stdout is dropped instead of flushed at exit, where a write to that pipe can wait for ever.
 */
export function abandonStandardOutput(): void {
  stdout?.destroy();
}

/** destination: where lines go instead of stdout (tests). */
export function createLogger(
  service: string,
  level: LogLevel = "info",
  base: LogFields = {},
  destination: DestinationStream = standardOutput(),
): Logger {
  const root = pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: serializeError, err: serializeError },
      redact: { paths: redactedPaths, censor: "[redacted]" },
      mixin: (_fields, _level, instance) => ((instance as MarkedLogger)[boundTraceIds] ? {} : (activeTraceIds() ?? {})),
    },
    destination,
  );
  return wrap(Object.keys(base).length > 0 ? childOf(root, base) : root);
}

function childOf(parent: PinoLogger, fields: LogFields): PinoLogger {
  const child: MarkedLogger = parent.child(fields);
  if ("trace_id" in fields) child[boundTraceIds] = true;
  return child;
}

/**
 * The gateway's call shape (message first) over pino's (fields first). A child is made lazily, at
 * its first line at an enabled level: the ingress gives every request a child bound to its ids, and
 * most requests write no line (a pino child with redaction costs several µs to make).
 */
function wrap(logger: PinoLogger | (() => PinoLogger), levelOf: PinoLogger = logger as PinoLogger): Logger {
  let made = typeof logger === "function" ? undefined : logger;
  const target = () => (made ??= (logger as () => PinoLogger)());
  const at = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (!levelOf.isLevelEnabled(level)) return;
    if (fields) target()[level](fields, message);
    else target()[level](message);
  };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => wrap(() => childOf(target(), fields), levelOf),
  };
}
