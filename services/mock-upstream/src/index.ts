// Public entry of @switchboard/mock-upstream: what tests and benchmarks import.

export { createMockUpstream } from "./server.ts";
export type { MockUpstream, MockUpstreamOptions, MockStats, MockRequestRecord } from "./server.ts";
export { mockText, mockTokens } from "./mock-text.ts";

export type { MockRequestOptions } from "./options.ts";
