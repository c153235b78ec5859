// The mock upstream: raw node:http with keep-alive, routing and request validation. It answers in
// the OpenAI chat-completions, Anthropic Messages and Gemini generateContent formats
// (wire-formats.ts). Benchmarks through the gateway must measure the
// gateway, not the mock, so there is no per-request logging; observability is
// GET /_mock/stats.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatPlan, PlannedToolCall } from "./chat-response.ts";
import { errorJson, sendJson } from "./http-responses.ts";
import { mockTokens, splitWords } from "./mock-text.ts";
import { isDelayMs, isTokenCount, resolveBehaviour, type MockDefaults } from "./options.ts";
import { clock, createStatsRegistry, type MockStats, type RequestState } from "./stats.ts";
import { anthropicFormat, geminiFormat, isHttpError, openAIFormat, type WireFormat } from "./wire-formats.ts";
import { answerWire, streamWire, writeJson, type HttpError } from "./wire-stream.ts";

export type { MockRequestRecord, MockStats } from "./stats.ts";

export interface MockUpstreamOptions {
  /** Delay before the first token (or error) of each response. Default 0. */
  firstTokenDelayMs?: number | undefined;
  /** Delay between tokens. Default 0 (as fast as possible). */
  tokenDelayMs?: number | undefined;
  /** Tokens per answer when the request does not say. Default 20. */
  tokens?: number | undefined;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string | undefined;
  /** How many recent calls stats() keeps. Default 200. */
  recentLimit?: number | undefined;
}

export interface MockUpstream {
  /** Starts listening; port 0 (the default) picks a free port. url is http://host:port/v1. */
  listen(port?: number): Promise<{ port: number; url: string }>;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
  stats(): MockStats;
  reset(): void;
}

const maxBodyBytes = 16 * 1024 * 1024;
const healthBody = '{"status":"ok"}';
const modelsBody = JSON.stringify({
  object: "list",
  data: [{ id: "mock-model", object: "model", created: 0, owned_by: "switchboard" }],
});

function noop(): void {}

export function createMockUpstream(options: MockUpstreamOptions = {}): MockUpstream {
  const defaults: MockDefaults = {
    tokens: options.tokens ?? 20,
    firstTokenDelayMs: options.firstTokenDelayMs ?? 0,
    tokenDelayMs: options.tokenDelayMs ?? 0,
  };
  if (!isTokenCount(defaults.tokens))
    throw new RangeError(`tokens must be a non-negative integer, got ${String(options.tokens)}`);
  if (!isDelayMs(defaults.firstTokenDelayMs)) {
    throw new RangeError(
      `firstTokenDelayMs must be a non-negative number of ms, got ${String(options.firstTokenDelayMs)}`,
    );
  }
  if (!isDelayMs(defaults.tokenDelayMs)) {
    throw new RangeError(`tokenDelayMs must be a non-negative number of ms, got ${String(options.tokenDelayMs)}`);
  }
  const host = options.host ?? "127.0.0.1";
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const registry = createStatsRegistry(options.recentLimit);
  /** Injected failures with `times`, counted per tag. */
  const failuresByTag = new Map<string, number>();
  /** Prompt prefixes marked cache_control already seen (Anthropic prompt caching). */
  const cachedPrefixes = new Set<string>();
  let callSeq = 0;

  function reject(res: ServerResponse, state: RequestState, error: HttpError): void {
    state.record.status = error.status;
    state.record.firstByteAt = clock();
    writeJson(res, error);
    registry.settle(state);
  }

  function handleChat(res: ServerResponse, startedAt: number, raw: Buffer, call: WireCall): void {
    const { format } = call;
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      const state = registry.open(res, startedAt, undefined, "", false, undefined);
      reject(res, state, format.badRequest("We could not parse the JSON body of your request.", null));
      return;
    }
    const fields =
      typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const model = call.pathModel ?? fields["model"];
    const mock = fields["mock"];
    const maybeTag = typeof mock === "object" && mock !== null ? (mock as { tag?: unknown }).tag : undefined;
    const state = registry.open(
      res,
      startedAt,
      body,
      typeof model === "string" ? model : "",
      call.pathModel === undefined ? fields["stream"] === true : call.pathStream,
      typeof maybeTag === "string" ? maybeTag : undefined,
    );

    if (fields !== body) {
      reject(res, state, format.badRequest("The request body must be a JSON object.", null));
      return;
    }
    const facts = format.read(fields, call.pathModel, call.pathStream);
    if (isHttpError(facts)) {
      reject(res, state, facts);
      return;
    }
    const parsed = resolveBehaviour(defaults, mock);
    if (!parsed.ok) {
      reject(res, state, format.badRequest(parsed.message, parsed.param, "invalid_mock_option"));
      return;
    }
    const behaviour = parsed.behaviour;
    // Like a real model, call a tool that the request forces (unless mock.toolCalls says otherwise).
    if (behaviour.toolCalls.length === 0 && facts.forcedTool !== undefined)
      behaviour.toolCalls = [{ name: facts.forcedTool, arguments: "{}" }];
    if (behaviour.fail?.times !== undefined && behaviour.tag !== undefined) {
      const failed = failuresByTag.get(behaviour.tag) ?? 0;
      if (failed >= behaviour.fail.times) delete behaviour.fail;
      else failuresByTag.set(behaviour.tag, failed + 1);
    }
    if (behaviour.fail !== undefined) state.record.fail = behaviour.fail.kind;

    const textTokens =
      behaviour.toolCalls.length === 0 || behaviour.textBeforeToolCalls
        ? behaviour.text !== undefined
          ? splitWords(behaviour.text)
          : mockTokens(behaviour.tokens)
        : [];
    const toolCalls: PlannedToolCall[] = behaviour.toolCalls.map((toolCall) => ({
      ...toolCall,
      id: `${format.toolIdPrefix}${++callSeq}`,
    }));
    // A prompt prefix marked cache_control is written to the cache on its first call, read after.
    const cache = { writeTokens: 0, readTokens: 0 };
    if (facts.cachePrefix !== undefined) {
      if (cachedPrefixes.has(facts.cachePrefix.key)) cache.readTokens = facts.cachePrefix.tokens;
      else {
        cachedPrefixes.add(facts.cachePrefix.key);
        cache.writeTokens = facts.cachePrefix.tokens;
      }
    }
    const plan: ChatPlan = {
      behaviour,
      model: facts.model,
      seq: state.record.seq,
      textTokens,
      toolCalls,
      promptTokens: facts.promptTokens,
      includeUsage: facts.includeUsage,
    };
    if (facts.stream) streamWire(res, state, behaviour, format.stream(plan, cache), registry.settle);
    else answerWire(res, state, behaviour, format.answer(plan, cache), registry.settle);
  }

  function readChatBody(req: IncomingMessage, res: ServerResponse, startedAt: number, call: WireCall): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("error", noop);
    req.on("data", (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        tooLarge = true;
        sendJson(
          res,
          413,
          errorJson(`Request body larger than ${maxBodyBytes} bytes`, "invalid_request_error", null, null),
        );
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooLarge) return;
      handleChat(res, startedAt, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), call);
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = clock();
    res.on("error", noop);
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method;
    const call = method === "POST" ? wireCall(path, query === -1 ? "" : url.slice(query + 1)) : undefined;
    if (call !== undefined) {
      readChatBody(req, res, startedAt, call);
      return;
    }
    req.resume();
    if (method === "GET") {
      if (path === "/health") return sendJson(res, 200, healthBody);
      if (path === "/v1/models" || path === "/models") return sendJson(res, 200, modelsBody);
      if (path === "/_mock/stats") return sendJson(res, 200, JSON.stringify(registry.snapshot()));
    }
    if (method === "POST" && path === "/_mock/reset") {
      registry.reset();
      failuresByTag.clear();
      cachedPrefixes.clear();
      return sendJson(res, 200, '{"status":"reset"}');
    }
    sendJson(
      res,
      404,
      errorJson(`Unknown route: ${method ?? "?"} ${path}`, "invalid_request_error", null, "unknown_url"),
    );
  }

  const server = createServer({ noDelay: true, keepAlive: true }, handle);
  // Outlive client pools (undici keeps idle sockets 4 s) so clients never reuse a socket we just closed.
  server.keepAliveTimeout = 65_000;

  return {
    listen(port = 0) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address() as AddressInfo;
          resolve({ port: address.port, url: `http://${urlHost}:${address.port}/v1` });
        });
      });
    },
    close() {
      return new Promise((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
    stats: registry.snapshot,
    reset() {
      registry.reset();
      failuresByTag.clear();
      cachedPrefixes.clear();
    },
  };
}

/** One answering endpoint called: its format, and for Gemini the model and method from the path. */
interface WireCall {
  format: WireFormat;
  pathModel?: string;
  pathStream: boolean;
}

const geminiPath = /^\/(?:v1beta|v1)\/models\/([^/:]+):(streamGenerateContent|generateContent)$/;

/** The answering endpoint a POST path names, or undefined. Gemini streams only as SSE (`alt=sse`). */
function wireCall(path: string, query: string): WireCall | undefined {
  if (path === "/v1/chat/completions" || path === "/chat/completions")
    return { format: openAIFormat, pathStream: false };
  if (path === "/v1/messages" || path === "/messages") return { format: anthropicFormat, pathStream: false };
  const gemini = geminiPath.exec(path);
  if (gemini === null) return undefined;
  const stream = gemini[2] === "streamGenerateContent";
  if (stream && !new URLSearchParams(query).getAll("alt").includes("sse")) return undefined;
  return { format: geminiFormat, pathModel: decodeURIComponent(gemini[1] as string), pathStream: stream };
}
