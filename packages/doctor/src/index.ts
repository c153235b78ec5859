// @switchboard/doctor: conformance checks for any OpenAI-compatible chat-completions endpoint.
export { runDoctor, type DoctorOptions, type DoctorReport } from "./run-doctor.ts";
export { formatReport } from "./report.ts";
export type { CheckResult, CheckStatus } from "./check-result.ts";
