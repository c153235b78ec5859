// Per-request behaviour of the mock: server defaults overridden by the optional `mock` object of a
// request body (the same object in every wire format the mock speaks), checked by zod schemas so
// a bad option gets a 400 naming the field.
import { z } from "zod";

export const maxTokens = 1_000_000;
export const maxDelayMs = 3_600_000;

/** Defaults every request starts from (env / createMockUpstream options). */
export interface MockDefaults {
  tokens: number;
  firstTokenDelayMs: number;
  tokenDelayMs: number;
}

const TokenCount = z
  .number()
  .int({ message: `must be an integer from 0 to ${maxTokens}` })
  .min(0, { message: `must be an integer from 0 to ${maxTokens}` })
  .max(maxTokens, { message: `must be an integer from 0 to ${maxTokens}` });
const DelayMs = z
  .number({ message: `must be a number of milliseconds from 0 to ${maxDelayMs}` })
  .min(0, { message: `must be a number of milliseconds from 0 to ${maxDelayMs}` })
  .max(maxDelayMs, { message: `must be a number of milliseconds from 0 to ${maxDelayMs}` });

const failureKinds = ["http", "in-stream-error", "stall", "reset", "never-respond"] as const;
export type MockFailureKind = (typeof failureKinds)[number];

const MockToolCall = z.strictObject({
  name: z.string().min(1, { message: "must not be empty" }),
  arguments: z.string().default(""),
});
/** One tool call the mock should "decide" to make. */
export type MockToolCall = z.infer<typeof MockToolCall>;

const MockFailure = z.strictObject({
  kind: z.enum(failureKinds, { message: `must be one of ${failureKinds.join(", ")}` }),
  status: z
    .number()
    .int()
    .min(400, { message: "must be an HTTP error status from 400 to 599" })
    .max(599, { message: "must be an HTTP error status from 400 to 599" })
    .default(500),
  /** Written as given, so it can quote keys or internal addresses as real upstreams do. */
  message: z.string().default("Mock upstream failure"),
  afterTokens: TokenCount.default(0),
  retryAfterSeconds: z.number().int().min(0, { message: "must be a non-negative integer" }).optional(),
  /** Fail only the first `times` calls carrying this request's tag; later ones answer normally. */
  times: TokenCount.optional(),
});

const MockOptions = z
  .strictObject({
    tokens: TokenCount.optional(),
    firstTokenDelayMs: DelayMs.optional(),
    tokenDelayMs: DelayMs.optional(),
    /** Replaces the generated text; split into word tokens. */
    text: z.string().optional(),
    toolCalls: z.array(MockToolCall).optional(),
    /** With toolCalls: stream text tokens first, then the calls. */
    textBeforeToolCalls: z.boolean().optional(),
    /**
     * The finish reason the answer ends with, any string (OpenAI's finish_reason, Anthropic's
     * stop_reason, Gemini's finishReason): a hostile upstream's, e.g. one holding
     * `\n\ndata: [DONE]\n\n` to end a naive relay's stream early.
     */
    finishReason: z.string().optional(),
    fail: MockFailure.optional(),
    /** Free label copied into the stats entry, to find a request again. */
    tag: z.string().optional(),
  })
  .refine((mock) => mock.fail?.times === undefined || mock.tag !== undefined, {
    path: ["fail", "times"],
    message: "counts calls by mock.tag: set a tag too",
  });

/** The `mock` field a client may add to a request body. */
export type MockRequestOptions = z.input<typeof MockOptions>;

/** Fully resolved behaviour for one request. */
export interface MockBehaviour {
  tokens: number;
  firstTokenDelayMs: number;
  tokenDelayMs: number;
  text?: string;
  toolCalls: MockToolCall[];
  textBeforeToolCalls: boolean;
  finishReason?: string;
  fail?: z.infer<typeof MockFailure>;
  tag?: string;
}

export type ParseResult = { ok: true; behaviour: MockBehaviour } | { ok: false; param: string; message: string };

export function isTokenCount(value: unknown): value is number {
  return TokenCount.safeParse(value).success;
}

export function isDelayMs(value: unknown): value is number {
  return DelayMs.safeParse(value).success;
}

/** `mock.toolCalls[0].name` from zod's path. */
function paramOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (param, key) => (typeof key === "number" ? `${param}[${key}]` : `${param}.${String(key)}`),
    "mock",
  );
}

/**
 * Resolves the behaviour of one request: `defaults` overridden by the body's `mock` field
 * (undefined or null = defaults only). Never throws; invalid input gives `{ ok: false, param,
 * message }` for a 400 response.
 */
export function resolveBehaviour(defaults: MockDefaults, mock: unknown): ParseResult {
  const parsed = MockOptions.safeParse(mock ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const unknownKey = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
    const param = paramOf(unknownKey === undefined ? issue.path : [...issue.path, unknownKey]);
    const message =
      unknownKey === undefined
        ? `${param} ${issue.message}, got ${describe(valueAt(mock, issue.path))}`
        : `${param} is not a mock option`;
    return { ok: false, param, message };
  }
  const { tokens, firstTokenDelayMs, tokenDelayMs, toolCalls, textBeforeToolCalls, ...rest } = parsed.data;
  const behaviour: MockBehaviour = {
    tokens: tokens ?? defaults.tokens,
    firstTokenDelayMs: firstTokenDelayMs ?? defaults.firstTokenDelayMs,
    tokenDelayMs: tokenDelayMs ?? defaults.tokenDelayMs,
    toolCalls: toolCalls ?? [],
    textBeforeToolCalls: textBeforeToolCalls ?? false,
  };
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) Object.assign(behaviour, { [key]: value });
  return { ok: true, behaviour };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) value = typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined;
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
