// @switchboard/providers: the upstreams a worker can call.
export type { Provider, UpstreamChunk, UpstreamRequest } from "./provider.ts";
export { createOpenAIProvider, type OpenAIProviderOptions } from "./openai-provider.ts";
export {
  createSimulatedProvider,
  simulatedText,
  simulatedTokens,
  type SimulatedProviderOptions,
} from "./simulated-provider.ts";
export { createProviders, type ProviderDefaults } from "./provider-registry.ts";
export { toUpstreamError } from "./upstream-error.ts";
export { createNodeFetch, nodeResponseBody, type NodeFetch, type NodeFetchOptions } from "./node-fetch.ts";
export { readNodeSseEvents } from "./sse-reader.ts";
