// @switchboard/doctor: conformance checks for any OpenAI-compatible chat-completions or Responses endpoint.
export { runDoctor } from "./run-doctor.ts";
export { formatReport } from "./report.ts";
