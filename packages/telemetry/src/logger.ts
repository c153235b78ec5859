// Structured JSON logs, one line per event, on stdout. Never pass message content or secrets here:
// log ids, sizes, timings and codes. Inside a span, each line carries its trace_id and span_id, so a
// log line leads to its trace in Jaeger and back.
import { activeTraceIds } from "./tracing.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function createLogger(service: string, level: LogLevel = "info", base: LogFields = {}): Logger {
  const threshold = levelRank[level];
  const write = (entryLevel: LogLevel, message: string, fields?: LogFields) => {
    if (levelRank[entryLevel] < threshold) return;
    const entry = {
      time: new Date().toISOString(),
      level: entryLevel,
      service,
      msg: message,
      ...activeTraceIds(),
      ...base,
      ...fields,
    };
    process.stdout.write(`${JSON.stringify(entry, errorReplacer)}\n`);
  };
  return {
    debug: (message, fields) => write("debug", message, fields),
    info: (message, fields) => write("info", message, fields),
    warn: (message, fields) => write("warn", message, fields),
    error: (message, fields) => write("error", message, fields),
    child: (fields) => createLogger(service, level, { ...base, ...fields }),
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
