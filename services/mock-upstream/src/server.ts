// The mock OpenAI-compatible upstream: raw node:http with keep-alive, routing
// and request validation. Benchmarks through the gateway must measure the
// gateway, not the mock, so there is no per-request logging; observability is
// GET /_mock/stats.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { completeChat, promptTokensOf, streamChat, type ChatPlan, type PlannedToolCall } from "./chat-response.ts";
import { errorJson, sendJson } from "./http-responses.ts";
import { mockTokens, splitWords } from "./mock-text.ts";
import { isDelayMs, isTokenCount, resolveBehaviour, type MockDefaults } from "./options.ts";
import { clock, createStatsRegistry, type MockStats, type RequestState } from "./stats.ts";

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
  let callSeq = 0;

  function reject(res: ServerResponse, state: RequestState, status: number, body: string): void {
    state.record.status = status;
    state.record.firstByteAt = clock();
    sendJson(res, status, body);
    registry.settle(state);
  }

  function handleChat(res: ServerResponse, startedAt: number, raw: Buffer): void {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      const state = registry.open(res, startedAt, undefined, "", false, undefined);
      reject(
        res,
        state,
        400,
        errorJson("We could not parse the JSON body of your request.", "invalid_request_error", null, null),
      );
      return;
    }
    const fields =
      typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    const model = fields["model"];
    const messages = fields["messages"];
    const stream = fields["stream"] === true;
    const mock = fields["mock"];
    const maybeTag = typeof mock === "object" && mock !== null ? (mock as { tag?: unknown }).tag : undefined;
    const state = registry.open(
      res,
      startedAt,
      body,
      typeof model === "string" ? model : "",
      stream,
      typeof maybeTag === "string" ? maybeTag : undefined,
    );

    if (fields !== body) {
      reject(
        res,
        state,
        400,
        errorJson("The request body must be a JSON object.", "invalid_request_error", null, null),
      );
      return;
    }
    if (typeof model !== "string") {
      reject(
        res,
        state,
        400,
        errorJson("you must provide a model parameter (a string)", "invalid_request_error", "model", null),
      );
      return;
    }
    if (!Array.isArray(messages) || messages.length === 0) {
      reject(
        res,
        state,
        400,
        errorJson("messages must be a non-empty array", "invalid_request_error", "messages", null),
      );
      return;
    }
    const streamField = fields["stream"];
    if (streamField !== undefined && streamField !== null && typeof streamField !== "boolean") {
      reject(res, state, 400, errorJson("stream must be a boolean", "invalid_request_error", "stream", null));
      return;
    }
    const parsed = resolveBehaviour(defaults, mock);
    if (!parsed.ok) {
      reject(res, state, 400, errorJson(parsed.message, "invalid_request_error", parsed.param, "invalid_mock_option"));
      return;
    }
    const behaviour = parsed.behaviour;
    // Like a real model, call a tool that tool_choice forces (unless mock.toolCalls says otherwise).
    const forced = forcedToolName(fields["tool_choice"]);
    if (behaviour.toolCalls.length === 0 && forced !== undefined)
      behaviour.toolCalls = [{ name: forced, arguments: "{}" }];
    if (behaviour.fail?.times !== undefined && behaviour.tag !== undefined) {
      const failed = failuresByTag.get(behaviour.tag) ?? 0;
      if (failed >= behaviour.fail.times) delete behaviour.fail;
      else failuresByTag.set(behaviour.tag, failed + 1);
    }
    if (behaviour.fail !== undefined) state.record.fail = behaviour.fail.kind;

    const promptTokens = promptTokensOf(messages);
    const textTokens =
      behaviour.toolCalls.length === 0 || behaviour.textBeforeToolCalls
        ? behaviour.text !== undefined
          ? splitWords(behaviour.text)
          : mockTokens(behaviour.tokens)
        : [];
    const toolCalls: PlannedToolCall[] = behaviour.toolCalls.map((call) => ({ ...call, id: `call_mock_${++callSeq}` }));
    const streamOptions = fields["stream_options"];
    const includeUsage =
      typeof streamOptions === "object" &&
      streamOptions !== null &&
      (streamOptions as { include_usage?: unknown }).include_usage === true;

    const plan: ChatPlan = { behaviour, model, textTokens, toolCalls, promptTokens, includeUsage };
    if (stream) streamChat(res, state, plan, registry.settle);
    else completeChat(res, state, plan, registry.settle);
  }

  function readChatBody(req: IncomingMessage, res: ServerResponse, startedAt: number): void {
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
      handleChat(res, startedAt, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const startedAt = clock();
    res.on("error", noop);
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method;
    if (method === "POST" && (path === "/v1/chat/completions" || path === "/chat/completions")) {
      readChatBody(req, res, startedAt);
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
    },
  };
}

function forcedToolName(toolChoice: unknown): string | undefined {
  if (typeof toolChoice !== "object" || toolChoice === null) return undefined;
  const name = (toolChoice as { function?: { name?: unknown } }).function?.name;
  return typeof name === "string" && name !== "" ? name : undefined;
}
