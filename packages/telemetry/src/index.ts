// @switchboard/telemetry: logs (and, later, traces and metrics) through one seam.
export { createLogger, type LogFields, type LogLevel, type Logger } from "./logger.ts";
