// @switchboard/providers: the upstreams a worker can call.
export type { Provider, UpstreamChunk } from "./provider.ts";
export { createOpenAIProvider } from "./openai-provider.ts";
export { simulatedText } from "./simulated-provider.ts";
export { createProviders } from "./provider-registry.ts";
export { toUpstreamError } from "./upstream-error.ts";

export { readNodeSseEvents } from "./sse-reader.ts";
// For the upstream-transport benchmark (test/bench/provider-overhead.ts), which compares this fetch with others.
export { createNodeFetch, nodeResponseBody } from "./node-fetch.ts";
