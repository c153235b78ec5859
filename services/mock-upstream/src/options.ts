// Per-request behaviour of the mock: server defaults overridden by the optional
// `mock` object of a request body. A plain, dependency-free parser so the mock
// stays fast and usable from any test without extra packages.

/** Defaults every request starts from (env / createMockUpstream options). */
export interface MockDefaults {
  tokens: number;
  firstTokenDelayMs: number;
  tokenDelayMs: number;
}

export type MockFailureKind = "http" | "in-stream-error" | "stall" | "reset" | "never-respond";

/** One tool call the mock should "decide" to make. */
export interface MockToolCall {
  name: string;
  arguments: string;
}

/** The `mock` field a client may add to a chat completion request body. */
export interface MockRequestOptions {
  tokens?: number;
  firstTokenDelayMs?: number;
  tokenDelayMs?: number;
  /** Replaces the generated text; split into word tokens. */
  text?: string;
  toolCalls?: MockToolCall[];
  /** With toolCalls: stream text tokens first, then the calls. */
  textBeforeToolCalls?: boolean;
  /**
   * The finish_reason the answer ends with, any string (default "stop", or "tool_calls"): a hostile
   * upstream's, e.g. one holding `\n\ndata: [DONE]\n\n` to end a naive relay's stream early.
   */
  finishReason?: string;
  fail?: {
    kind: MockFailureKind;
    status?: number;
    message?: string;
    afterTokens?: number;
    retryAfterSeconds?: number;
    /** Fail only the first `times` calls carrying this request's tag; later ones answer normally. */
    times?: number;
  };
  /** Free label copied into the stats entry, to find a request again. */
  tag?: string;
}

interface MockFailure {
  kind: MockFailureKind;
  status: number;
  message: string;
  afterTokens: number;
  retryAfterSeconds?: number;
  times?: number;
}

/** Fully resolved behaviour for one request. */
export interface MockBehaviour {
  tokens: number;
  firstTokenDelayMs: number;
  tokenDelayMs: number;
  text?: string;
  toolCalls: MockToolCall[];
  textBeforeToolCalls: boolean;
  finishReason?: string;
  fail?: MockFailure;
  tag?: string;
}

export type ParseResult = { ok: true; behaviour: MockBehaviour } | { ok: false; param: string; message: string };

export const maxTokens = 1_000_000;
export const maxDelayMs = 3_600_000;

const failureKinds: readonly string[] = ["http", "in-stream-error", "stall", "reset", "never-respond"];
const mockKeys: readonly string[] = [
  "tokens",
  "firstTokenDelayMs",
  "tokenDelayMs",
  "text",
  "toolCalls",
  "textBeforeToolCalls",
  "finishReason",
  "fail",
  "tag",
];
const failKeys: readonly string[] = ["kind", "status", "message", "afterTokens", "retryAfterSeconds", "times"];

/** Thrown internally to abort parsing with the offending parameter path. */
class InvalidOption extends Error {
  readonly param: string;
  constructor(param: string, message: string) {
    super(message);
    this.param = param;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isTokenCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= maxTokens;
}

export function isDelayMs(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= maxDelayMs;
}

function tokenCount(value: unknown, param: string): number {
  if (!isTokenCount(value)) {
    throw new InvalidOption(param, `${param} must be an integer from 0 to ${maxTokens}, got ${describe(value)}`);
  }
  return value;
}

function delay(value: unknown, param: string): number {
  if (!isDelayMs(value)) {
    throw new InvalidOption(
      param,
      `${param} must be a number of milliseconds from 0 to ${maxDelayMs}, got ${describe(value)}`,
    );
  }
  return value;
}

function string(value: unknown, param: string): string {
  if (typeof value !== "string") throw new InvalidOption(param, `${param} must be a string, got ${describe(value)}`);
  return value;
}

function rejectUnknownKeys(record: Record<string, unknown>, known: readonly string[], param: string): void {
  for (const key in record) {
    if (!known.includes(key)) {
      throw new InvalidOption(
        `${param}.${key}`,
        `${param}.${key} is not a mock option; expected one of: ${known.join(", ")}`,
      );
    }
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function parseToolCalls(value: unknown): MockToolCall[] {
  if (!Array.isArray(value))
    throw new InvalidOption("mock.toolCalls", `mock.toolCalls must be an array, got ${describe(value)}`);
  return value.map((call: unknown, index) => {
    const param = `mock.toolCalls[${index}]`;
    if (!isRecord(call)) throw new InvalidOption(param, `${param} must be an object with name and arguments`);
    rejectUnknownKeys(call, ["name", "arguments"], param);
    const name = string(call["name"], `${param}.name`);
    if (name === "") throw new InvalidOption(`${param}.name`, `${param}.name must not be empty`);
    const args = call["arguments"] === undefined ? "" : string(call["arguments"], `${param}.arguments`);
    return { name, arguments: args };
  });
}

function parseFailure(value: unknown): MockFailure {
  if (!isRecord(value)) throw new InvalidOption("mock.fail", `mock.fail must be an object, got ${describe(value)}`);
  rejectUnknownKeys(value, failKeys, "mock.fail");
  const kind = value["kind"];
  if (typeof kind !== "string" || !failureKinds.includes(kind)) {
    throw new InvalidOption(
      "mock.fail.kind",
      `mock.fail.kind must be one of ${failureKinds.join(", ")}, got ${describe(kind)}`,
    );
  }
  const failure: MockFailure = {
    kind: kind as MockFailureKind,
    status: 500,
    message: "Mock upstream failure",
    afterTokens: 0,
  };
  const status = value["status"];
  if (status !== undefined) {
    if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 599) {
      throw new InvalidOption(
        "mock.fail.status",
        `mock.fail.status must be an HTTP error status from 400 to 599, got ${describe(status)}`,
      );
    }
    failure.status = status;
  }
  if (value["message"] !== undefined) failure.message = string(value["message"], "mock.fail.message");
  if (value["afterTokens"] !== undefined)
    failure.afterTokens = tokenCount(value["afterTokens"], "mock.fail.afterTokens");
  const retryAfter = value["retryAfterSeconds"];
  if (retryAfter !== undefined) {
    if (typeof retryAfter !== "number" || !Number.isInteger(retryAfter) || retryAfter < 0) {
      throw new InvalidOption(
        "mock.fail.retryAfterSeconds",
        `mock.fail.retryAfterSeconds must be a non-negative integer, got ${describe(retryAfter)}`,
      );
    }
    failure.retryAfterSeconds = retryAfter;
  }
  if (value["times"] !== undefined) failure.times = tokenCount(value["times"], "mock.fail.times");
  return failure;
}

/**
 * Resolves the behaviour of one request: `defaults` overridden by the body's
 * `mock` field (undefined = defaults only). Never throws; invalid input gives
 * `{ ok: false, param, message }` for a 400 response.
 */
export function resolveBehaviour(defaults: MockDefaults, mock: unknown): ParseResult {
  const behaviour: MockBehaviour = {
    tokens: defaults.tokens,
    firstTokenDelayMs: defaults.firstTokenDelayMs,
    tokenDelayMs: defaults.tokenDelayMs,
    toolCalls: [],
    textBeforeToolCalls: false,
  };
  if (mock === undefined || mock === null) return { ok: true, behaviour };
  try {
    if (!isRecord(mock)) throw new InvalidOption("mock", `mock must be an object, got ${describe(mock)}`);
    rejectUnknownKeys(mock, mockKeys, "mock");
    if (mock["tokens"] !== undefined) behaviour.tokens = tokenCount(mock["tokens"], "mock.tokens");
    if (mock["firstTokenDelayMs"] !== undefined)
      behaviour.firstTokenDelayMs = delay(mock["firstTokenDelayMs"], "mock.firstTokenDelayMs");
    if (mock["tokenDelayMs"] !== undefined) behaviour.tokenDelayMs = delay(mock["tokenDelayMs"], "mock.tokenDelayMs");
    if (mock["text"] !== undefined) behaviour.text = string(mock["text"], "mock.text");
    if (mock["toolCalls"] !== undefined) behaviour.toolCalls = parseToolCalls(mock["toolCalls"]);
    const textFirst = mock["textBeforeToolCalls"];
    if (textFirst !== undefined) {
      if (typeof textFirst !== "boolean") {
        throw new InvalidOption(
          "mock.textBeforeToolCalls",
          `mock.textBeforeToolCalls must be a boolean, got ${describe(textFirst)}`,
        );
      }
      behaviour.textBeforeToolCalls = textFirst;
    }
    if (mock["finishReason"] !== undefined) behaviour.finishReason = string(mock["finishReason"], "mock.finishReason");
    if (mock["fail"] !== undefined) behaviour.fail = parseFailure(mock["fail"]);
    if (mock["tag"] !== undefined) behaviour.tag = string(mock["tag"], "mock.tag");
    if (behaviour.fail?.times !== undefined && behaviour.tag === undefined)
      throw new InvalidOption("mock.fail.times", "mock.fail.times counts calls by mock.tag: set a tag too");
    return { ok: true, behaviour };
  } catch (error) {
    if (error instanceof InvalidOption) return { ok: false, param: error.param, message: error.message };
    throw error;
  }
}
