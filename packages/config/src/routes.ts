// The routing table: which provider answers which model id, under which upstream name, and what to
// try next when it fails. Read from ROUTES_FILE (JSON) or built from the environment:
//   - the simulated model `switchboard-sim` is always served;
//   - with OPENAI_API_KEY set, every other model id is passed through to OPENAI_BASE_URL (or OpenAI).
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { EnvSource } from "./load-config.ts";

/**
 * An object of the routing file. A field it does not know is an error that names the field and the
 * known ones, not silently dropped: a misspelled setting (`promptCacheKeys`) or one of another
 * provider type would otherwise leave the default in force without a word.
 */
function strictObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `"${key}"`).join(", ")} (known fields: ${known})`
        : undefined,
  });
}

const ProviderSpec = z.discriminatedUnion("type", [
  strictObject({
    type: z.literal("openai"),
    /** Base URL of an OpenAI-compatible API; defaults to OPENAI_BASE_URL, then api.openai.com. */
    baseUrl: z.string().url().optional(),
    /** Name of the environment variable holding the key (never the key itself). */
    apiKeyEnv: z.string().default("OPENAI_API_KEY"),
    /** The API the upstream is called with: chat_completions, or responses for a Responses-only upstream. */
    api: z.enum(["chat_completions", "responses"]).default("chat_completions"),
    /**
     * Whether the upstream takes OpenAI's `prompt_cache_key`. false, for a server that rejects body
     * fields it does not know (a 400 on every turn): every request reaches it without one, and a route
     * whose first target it is does not add the conversation id as one.
     */
    promptCacheKey: z
      .boolean({ error: "must be true or false (false: this upstream does not take prompt_cache_key)" })
      .default(true),
  }),
  strictObject({
    type: z.literal("anthropic"),
    /** The Messages API's origin (the SDK adds /v1/messages); default https://api.anthropic.com. */
    baseUrl: z.string().url().optional(),
    /** Name of the environment variable holding the key (never the key itself). */
    apiKeyEnv: z.string().default("ANTHROPIC_API_KEY"),
    /** max_tokens when a request sets neither max_completion_tokens nor max_tokens (Anthropic requires one). */
    defaultMaxTokens: z.number().int().min(1).default(4096),
    /** Mark the system prompt and the last tool definition with cache_control {type: "ephemeral"}. */
    promptCaching: z.boolean().default(false),
  }),
  strictObject({
    type: z.literal("gemini"),
    /** The Gemini API's origin (the SDK adds /v1beta/models/…); default https://generativelanguage.googleapis.com. */
    baseUrl: z.string().url().optional(),
    /** Name of the environment variable holding the key (never the key itself). */
    apiKeyEnv: z.string().default("GEMINI_API_KEY"),
  }),
  strictObject({
    type: z.literal("simulated"),
    firstTokenDelayMs: z.number().int().min(0).optional(),
    tokenDelayMs: z.number().int().min(0).optional(),
  }),
]);

const routeTargetFields = {
  provider: z.string(),
  /** The upstream model name; defaults to the model id the client sent. */
  model: z.string().optional(),
};
const RouteTarget = strictObject(routeTargetFields);

/**
 * Hedged first token (streamed requests): when no useful token (content, refusal or a tool call)
 * has come from a target after the delay, the next target of the route (its next fallback) is
 * called too; the first useful token wins and the other call is closed. Costs tokens: both
 * upstreams bill what they produced until the loser is closed.
 */
export const Hedge = strictObject({
  /** Fixed delay; with `adaptive`, the delay used until the target has enough first-token samples. */
  afterMs: z.number().int().min(0).optional(),
  /** The delay follows a percentile of the target's recent first-token times, kept within [minMs, maxMs]. */
  adaptive: strictObject({
    percentile: z.number().gt(0).lt(100).default(90),
    minMs: z.number().int().min(0).default(50),
    maxMs: z.number().int().min(0).default(2000),
  })
    .refine((adaptive) => adaptive.minMs <= adaptive.maxMs, { message: "minMs must not exceed maxMs" })
    .optional(),
  /** At most this share of the route's requests are hedged, counted across all workers. */
  budgetPercent: z.number().min(0).max(100).default(10),
}).refine((hedge) => hedge.afterMs !== undefined || hedge.adaptive !== undefined, {
  message: "set afterMs (a fixed delay) or adaptive (or both)",
});
export type Hedge = z.infer<typeof Hedge>;

export const Route = strictObject({
  ...routeTargetFields,
  /** Targets tried in order when the first fails before any token reached the client. */
  fallbacks: z.array(RouteTarget).default([]),
  /** Send elevenlabs_extra_body and user_id upstream too (off: most upstreams reject them). */
  passVendorFields: z.boolean().default(false),
  /**
   * Top-level request fields sent upstream besides the OpenAI chat fields every route passes
   * (services/ingress/src/upstream-body.ts), e.g. "reasoning_effort"; everything else is dropped.
   */
  passFields: z.array(z.string().min(1)).default([]),
  /**
   * Development only: error messages to clients also quote what the upstream said (scrubbed of
   * anything shaped like a key). Off: a client hears the gateway's own message, the upstream's
   * HTTP status and a short category, never the upstream's text.
   */
  exposeUpstreamErrors: z.boolean().default(false),
  /**
   * Largest request body this route takes, in bytes as parsed (after any content decoding); a
   * larger one gets 413 before it is queued. Unset: only BODY_LIMIT_BYTES, which bounds every body
   * before it is parsed.
   */
  maxBodyBytes: z.number().int().min(1).optional(),
  /**
   * Spoken instead of an error when every target failed before any token: the answer is this
   * sentence as a normal completion (finish_reason "stop"), so a voice call survives the failure.
   */
  fallbackSentence: z.string().min(1).optional(),
  /**
   * A new turn of a conversation ends this route's older turn of it that is still running (its
   * upstream closed, its client given a clean finish). Unset: SUPERSEDE_STALE_TURNS decides.
   */
  supersede: z.boolean().optional(),
  /** Streamed requests: if no token arrived after afterMs (0 = at once), send `text` once first. */
  bufferWords: strictObject({
    afterMs: z.number().int().min(0).default(0),
    /** Keep the trailing space: the real answer is appended to it by the voice platform. */
    text: z.string().min(1).default("... "),
  }).optional(),
  /** Hedge the first token on the next target (needs a fallback); see Hedge. */
  hedge: Hedge.optional(),
  /**
   * Shared target health: a target whose breaker is open (after `failures` consecutive failures or
   * first-token timeouts, or until a 429's Retry-After) is skipped for the route's next one without
   * being called, until one half-open probe after `coolDownMs` succeeds. `pick`: "order" tries the
   * targets in the route's order; "latency" starts each request on the faster of two targets drawn
   * at random among those whose breaker is not open (by their shared first-token estimates), the
   * others following in the route's order.
   */
  health: strictObject({
    failures: z.number().int().min(1).default(3),
    coolDownMs: z.number().int().min(0).default(5000),
    pick: z.enum(["order", "latency"]).default("order"),
  }).optional(),
});
export type Route = z.infer<typeof Route>;

export const RouteTable = strictObject({
  providers: z.record(z.string(), ProviderSpec),
  /** Model id -> route; the id "*" matches any model not listed. */
  routes: z.record(z.string(), Route),
}).superRefine((table, context) => {
  for (const [modelId, route] of Object.entries(table.routes)) {
    if (route.hedge && route.fallbacks.length === 0)
      context.addIssue({
        code: "custom",
        path: ["routes", modelId, "hedge"],
        message: "a hedge calls the route's next target: add one under fallbacks",
      });
    for (const target of [route, ...route.fallbacks]) {
      if (!Object.hasOwn(table.providers, target.provider)) {
        context.addIssue({
          code: "custom",
          path: ["routes", modelId],
          message: `unknown provider "${target.provider}"; declare it under "providers"`,
        });
      }
    }
  }
});
export type RouteTable = z.infer<typeof RouteTable>;

const simulatedModelId = "switchboard-sim";

function defaultRouteTable(env: EnvSource): RouteTable {
  const table: RouteTable = {
    providers: { simulated: { type: "simulated" } },
    routes: {
      [simulatedModelId]: {
        provider: "simulated",
        fallbacks: [],
        passVendorFields: false,
        passFields: [],
        exposeUpstreamErrors: false,
      },
    },
  };
  if (env.OPENAI_API_KEY) {
    table.providers.openai = {
      type: "openai",
      apiKeyEnv: "OPENAI_API_KEY",
      api: "chat_completions",
      promptCacheKey: true,
    };
    table.routes["*"] = {
      provider: "openai",
      fallbacks: [],
      passVendorFields: false,
      passFields: [],
      exposeUpstreamErrors: false,
    };
  }
  return table;
}

/** Load the table named by ROUTES_FILE, or the default one; throws with a message saying what to fix. */
export function loadRouteTable(env: EnvSource): RouteTable {
  const file = env.ROUTES_FILE;
  if (!file) return defaultRouteTable(env);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`ROUTES_FILE: cannot read ${file} as JSON: ${(error as Error).message}`);
  }
  const result = RouteTable.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `  - ${issue.path.join(".") || "(the table)"}: ${issue.message}`)
      .join("\n");
    throw new Error(`ROUTES_FILE ${file} is not a valid routing table:\n${problems}`);
  }
  return result.data;
}

/**
 * The route for a model id, or undefined. Only the table's own entries count: a model id such as
 * `constructor` or `__proto__` must not find a property every object inherits.
 */
export function resolveRoute(table: RouteTable, modelId: string): Route | undefined {
  if (Object.hasOwn(table.routes, modelId)) return table.routes[modelId];
  return Object.hasOwn(table.routes, "*") ? table.routes["*"] : undefined;
}

/** Model ids served explicitly (the wildcard route is not a model). */
export function listModelIds(table: RouteTable): string[] {
  return Object.keys(table.routes).filter((modelId) => modelId !== "*");
}
