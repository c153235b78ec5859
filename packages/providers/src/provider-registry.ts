// Builds one provider per entry of the routing table, once, at worker start-up.
import type { RouteTable } from "@switchboard/config";
import type { Provider } from "./provider.ts";
import { createAnthropicProvider } from "./anthropic-provider.ts";
import { createGeminiProvider } from "./gemini-provider.ts";
import { createOpenAIProvider } from "./openai-provider.ts";
import { createSimulatedProvider, type SimulatedProviderOptions } from "./simulated-provider.ts";

export interface ProviderDefaults {
  env: Record<string, string | undefined>;
  simulated: SimulatedProviderOptions;
  upstreamTimeoutMs: number;
}

export function createProviders(table: RouteTable, defaults: ProviderDefaults): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const [name, spec] of Object.entries(table.providers)) {
    if (spec.type === "simulated") {
      providers.set(
        name,
        createSimulatedProvider({
          firstTokenDelayMs: spec.firstTokenDelayMs ?? defaults.simulated.firstTokenDelayMs,
          tokenDelayMs: spec.tokenDelayMs ?? defaults.simulated.tokenDelayMs,
        }),
      );
      continue;
    }
    const apiKey = defaults.env[spec.apiKeyEnv];
    if (!apiKey) throw new Error(`Provider "${name}" reads its API key from ${spec.apiKeyEnv}, which is not set.`);
    const baseUrl = spec.baseUrl === undefined ? {} : { baseUrl: spec.baseUrl };
    if (spec.type === "anthropic") {
      providers.set(
        name,
        createAnthropicProvider({
          name,
          apiKey,
          timeoutMs: defaults.upstreamTimeoutMs,
          defaultMaxTokens: spec.defaultMaxTokens,
          promptCaching: spec.promptCaching,
          ...baseUrl,
        }),
      );
      continue;
    }
    if (spec.type === "gemini") {
      providers.set(name, createGeminiProvider({ name, apiKey, timeoutMs: defaults.upstreamTimeoutMs, ...baseUrl }));
      continue;
    }
    const openAIBaseUrl = spec.baseUrl ?? defaults.env.OPENAI_BASE_URL;
    const openAI = createOpenAIProvider({
      name,
      apiKey,
      timeoutMs: defaults.upstreamTimeoutMs,
      api: spec.api,
      ...(openAIBaseUrl ? { baseUrl: openAIBaseUrl } : {}),
    });
    providers.set(name, spec.promptCacheKey ? openAI : withoutPromptCacheKey(openAI));
  }
  return providers;
}

/**
 * An upstream that rejects `prompt_cache_key` (a provider with promptCacheKey: false): every call to
 * it, whether first target, retry, fallback or hedge, goes without the field, whoever set it (the
 * caller, or the ingress for a route whose first target takes it).
 */
function withoutPromptCacheKey(provider: Provider): Provider {
  return {
    name: provider.name,
    stream(request) {
      if (!Object.hasOwn(request.body, "prompt_cache_key")) return provider.stream(request);
      const { prompt_cache_key: _withheld, ...body } = request.body;
      return provider.stream({ ...request, body });
    },
  };
}
