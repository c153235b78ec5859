// @switchboard/doctor: conformance checks for any OpenAI-compatible chat-completions or Responses endpoint.
export { runDoctor, type ApiType, type DoctorOptions, type DoctorReport } from "./run-doctor.ts";
export { formatReport } from "./report.ts";
export type { CheckResult, CheckStatus } from "./check-result.ts";
