// The troubleshooting checklist of the ElevenLabs Custom LLM guide plus the conformance rules
// strict OpenAI clients rely on, run against any OpenAI-compatible endpoint over plain HTTP.
// Nothing here knows Switchboard's internals: it must judge any implementation the same way.
import { check, type CheckResult } from "./check-result.ts";
import { responsesChecks } from "./responses-checks.ts";
import { readSseResponse, type EventLines, type SseRead } from "./sse-stream.ts";
import {
  chunkShapeProblems,
  finishReasonProblems,
  roleProblems,
  stableIdProblems,
  toolCallProblems,
  usageChunks,
  usageProblems,
} from "./stream-rules.ts";

export interface DoctorOptions {
  /** The base URL a client is given, usually ending in /v1. */
  baseUrl: string;
  key?: string;
  /** Send the key in this header instead of Authorization: Bearer. */
  header?: string;
  /** The model to ask; default: from GET /models (switchboard-sim if listed, else the first). */
  model?: string;
  /** The first chunk must arrive within this (default 5000: ElevenLabs gives up soon after). */
  firstChunkLimitMs?: number;
  /** Per request (default 30000). */
  timeoutMs?: number;
  /** Which API to check, as an ElevenLabs agent's `api_type` names it (default chat_completions). */
  apiType?: ApiType;
}

type ApiType = "chat_completions" | "responses";

export interface DoctorReport {
  baseUrl: string;
  apiType: ApiType;
  model: string | undefined;
  results: CheckResult[];
  ok: boolean;
}

const fixes = {
  health:
    'Serve GET /health with status 200 (e.g. {"status":"ok"}). If nothing answers: is the server running, is the URL right, is the tunnel (e.g. ngrok) up?',
  models:
    'Serve GET /v1/models as {"object":"list","data":[{"id":…,"object":"model"}]}, with the same authentication as the chat endpoint.',
  auth: 'Reject a missing or wrong key with 401 and an OpenAI error body {"error":{"message","type","param","code":"invalid_api_key"}}; compare keys in constant time.',
  completion:
    'Answer stream:false with one JSON chat.completion: id, object "chat.completion", created (Unix seconds), model, choices[{index, message{role:"assistant", content}, finish_reason}], usage{prompt_tokens, completion_tokens, total_tokens}.',
  elevenLabs:
    "Accept what ElevenLabs really sends: an assistant greeting before the first user message, temperature 0, max_tokens, tools: null, elevenlabs_extra_body and user_id (remove those two before calling an upstream that rejects them), unknown fields, and bodies of several MB (system prompts reach 2 MB).",
  sseHeaders:
    "Answer stream:true with status 200 and Content-Type: text/event-stream; add Cache-Control: no-cache, and disable compression and proxy buffering (X-Accel-Buffering: no).",
  framing:
    "Write every chunk as `data: {json}` followed by a blank line (\\n\\n); no `event:` lines, nothing after [DONE].",
  chunkShape:
    'Every chunk needs id, object "chat.completion.chunk", created, model and choices[{index, delta, finish_reason}].',
  stableId: "Use one id and one created for all chunks of a completion: clients treat a new id as a new completion.",
  role: 'Put role:"assistant" in the first chunk\'s delta, and in no other chunk.',
  finish:
    "Send finish_reason: null on every chunk except the last one, whose finish_reason is stop, length or tool_calls.",
  done: "End the stream with `data: [DONE]` and a blank line, then close the response.",
  noUsage:
    "Send the choices:[] usage chunk only when stream_options.include_usage is true: naive clients read choices[0] and crash on it.",
  usage:
    "When stream_options.include_usage is true, send exactly one last chunk with choices: [] and usage{prompt_tokens, completion_tokens, total_tokens}, before [DONE].",
  tools:
    'Pass tools and tool_choice to the model and stream its calls as OpenAI does: the first fragment of each call has index, id, type "function" and function.name; later ones index and function.arguments; finish_reason "tool_calls".',
  firstChunk:
    'Send the first chunk sooner: stream as soon as the model produces tokens, and use buffer words ("... ", trailing space kept) for slow models.',
} as const;

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const base = options.baseUrl.replace(/\/+$/, "");
  const root = base.replace(/\/v1$/, "");
  const timeoutMs = options.timeoutMs ?? 30_000;
  const firstChunkLimitMs = options.firstChunkLimitMs ?? 5000;
  const results: CheckResult[] = [];
  // null: deliberately no key (undefined would pick up the default parameter below).
  const credentials = (key: string | null | undefined): Record<string, string> =>
    key === undefined || key === null
      ? {}
      : options.header
        ? { [options.header]: key }
        : { authorization: `Bearer ${key}` };

  const get = (url: string, key: string | null | undefined = options.key) =>
    call(url, { headers: credentials(key) }, timeoutMs);
  const apiType = options.apiType ?? "chat_completions";
  const post = (body: Record<string, unknown>, key: string | null | undefined = options.key) =>
    call(
      `${base}/${apiType === "responses" ? "responses" : "chat/completions"}`,
      {
        method: "POST",
        headers: { "content-type": "application/json", ...credentials(key) },
        body: JSON.stringify(body),
      },
      timeoutMs,
    );

  // 1. Health (checklist: "server running", "endpoint accessible").
  const health = await get(`${root}/health`, null);
  results.push(
    check(
      "health",
      "GET /health answers 200",
      fixes.health,
      health.error
        ? [health.error]
        : health.response!.status === 200
          ? []
          : [`HTTP ${health.response!.status} from ${root}/health`],
      "200",
      requestIdOf(health),
    ),
  );
  await health.response?.body?.cancel();

  // 2. Models.
  let modelIds: string[] = [];
  const models = await get(`${base}/models`);
  if (models.error) results.push(check("models", "GET /v1/models lists models", fixes.models, [models.error], ""));
  else {
    const problems: string[] = [];
    const body = await jsonOf(models.response!);
    if (models.response!.status !== 200) problems.push(`HTTP ${models.response!.status}: ${describeError(body)}`);
    else if (body?.object !== "list" || !Array.isArray(body.data))
      problems.push('the body is not {"object":"list","data":[…]}');
    else
      modelIds = (body.data as Array<{ id?: unknown }>)
        .map((model) => model.id)
        .filter((id): id is string => typeof id === "string");
    results.push(
      check(
        "models",
        "GET /v1/models lists models",
        fixes.models,
        problems,
        `${modelIds.length} model(s)`,
        requestIdOf(models),
      ),
    );
  }
  const model = options.model ?? (modelIds.includes("switchboard-sim") ? "switchboard-sim" : modelIds[0]);
  if (model === undefined) {
    results.push({
      id: "model",
      title: "a model to test with",
      status: "fail",
      detail: "no --model given and GET /v1/models listed none",
      fix: "Pass --model <id> with a model id the endpoint serves.",
    });
    return finish(options.baseUrl, apiType, model, results);
  }
  const messages = [
    { role: "system", content: "You are a helpful voice agent. Answer in one short sentence." },
    { role: "user", content: "Hello! Who am I speaking with?" },
  ];

  // 3. Authentication.
  if (options.key === undefined) {
    results.push({
      id: "auth",
      title: "a wrong API key is rejected with 401",
      status: "skip",
      detail: "no --key given: not checked (without keys, anyone who finds the URL can use it)",
      fix: fixes.auth,
    });
  } else {
    const problems: string[] = [];
    let failedRequestId: string | undefined;
    for (const [label, key] of [
      ["a wrong key", `${options.key}-wrong`],
      ["no key", null],
    ] as const) {
      const attempt = await post(apiType === "responses" ? { model, input: messages } : { model, messages }, key);
      const problemsBefore = problems.length;
      if (attempt.error) problems.push(`${label}: ${attempt.error}`);
      else {
        const body = await jsonOf(attempt.response!);
        if (attempt.response!.status !== 401)
          problems.push(`${label} got HTTP ${attempt.response!.status}, expected 401`);
        else if (typeof (body?.error as { message?: unknown } | undefined)?.message !== "string")
          problems.push(`${label}: the 401 body is not an OpenAI error {"error":{"message",…}}`);
      }
      if (problems.length > problemsBefore) failedRequestId ??= requestIdOf(attempt);
    }
    results.push(
      check(
        "auth",
        "a wrong or missing API key is rejected with 401",
        fixes.auth,
        problems,
        "401 for a wrong key and for none",
        failedRequestId,
      ),
    );
  }

  if (apiType === "responses") {
    results.push(
      ...(await responsesChecks({
        model,
        firstChunkLimitMs,
        postJson: async (body) => {
          const result = await post(body);
          if (result.error) return { problem: result.error };
          const json = await jsonOf(result.response!);
          if (result.response!.status !== 200)
            return { problem: `HTTP ${result.response!.status}: ${describeError(json)}` };
          return json ? { status: 200, body: json } : { status: 200 };
        },
        postStream: (body, eventLines) => postStream(post, body, eventLines),
      })),
    );
    return finish(options.baseUrl, apiType, model, results);
  }

  // 4. Non-streaming shape (checklist: "required fields id, object, created, model, choices, usage").
  const completion = await post({ model, messages, stream: false });
  results.push(
    check(
      "completion",
      "non-streaming answer is a complete chat.completion",
      fixes.completion,
      completion.error ? [completion.error] : await completionProblems(completion.response!),
      "id, object, created, model, choices, usage",
      requestIdOf(completion),
    ),
  );

  // 4b. The request ElevenLabs really sends (strict request models reject it: the guide's own
  // example does, and then every turn fails after ElevenLabs' retries).
  const elevenLabs = await postStream(post, {
    model,
    messages: [
      { role: "system", content: "You are a helpful voice agent." },
      { role: "assistant", content: "Hi! How can I help you today?" },
      { role: "user", content: "What can you do?" },
    ],
    stream: true,
    temperature: 0,
    max_tokens: 300,
    tools: null,
    user_id: "doctor-user",
    elevenlabs_extra_body: { UUID: "00000000-0000-4000-8000-000000000000", "parameter-1": "value-1" },
  });
  const elevenLabsProblems = elevenLabs.problem
    ? [elevenLabs.problem]
    : [
        ...chunkShapeProblems(elevenLabs.read!.chunks),
        ...(elevenLabs.read!.done ? [] : ["the stream does not end with [DONE]"]),
      ];
  results.push(
    check(
      "elevenlabs-request",
      "accepts the request ElevenLabs sends",
      fixes.elevenLabs,
      elevenLabsProblems,
      "greeting first, temperature 0, tools null, vendor fields",
      elevenLabs.requestId,
    ),
  );

  // 5. Streaming: headers, framing and the chunk rules, on one streamed answer.
  const streamed = await postStream(post, { model, messages, stream: true });
  const streamFailure = streamed.problem ? [streamed.problem] : undefined;
  const read = streamed.read;
  const contentType = read?.headers.get("content-type") ?? "";
  results.push(
    check(
      "sse-headers",
      "streaming answers 200 with Content-Type: text/event-stream",
      fixes.sseHeaders,
      streamFailure ??
        (/^text\/event-stream/i.test(contentType) ? [] : [`Content-Type is ${JSON.stringify(contentType)}`]),
      contentType,
      streamed.requestId,
    ),
  );
  const chunks = read?.chunks ?? [];
  results.push(
    check(
      "sse-framing",
      "SSE framing: data: lines, blank line after each event",
      fixes.framing,
      streamFailure ?? read!.framingProblems,
      `${chunks.length} events`,
      streamed.requestId,
    ),
  );
  results.push(
    check(
      "chunk-shape",
      "every chunk is a chat.completion.chunk",
      fixes.chunkShape,
      streamFailure ?? chunkShapeProblems(chunks),
      "id, object, created, model, choices",
      streamed.requestId,
    ),
  );
  results.push(
    check(
      "stable-id",
      "one id and one created across all chunks",
      fixes.stableId,
      streamFailure ?? stableIdProblems(chunks),
      "one id",
      streamed.requestId,
    ),
  );
  results.push(
    check(
      "role",
      "role on the first delta only",
      fixes.role,
      streamFailure ?? roleProblems(chunks),
      "first delta only",
      streamed.requestId,
    ),
  );
  results.push(
    check(
      "finish-reason",
      "finish_reason only on the last chunk",
      fixes.finish,
      streamFailure ?? finishReasonProblems(chunks),
      "last chunk only",
      streamed.requestId,
    ),
  );
  results.push(
    check(
      "done",
      "the stream ends with data: [DONE]",
      fixes.done,
      streamFailure ?? (read!.done ? [] : ["the last event is not data: [DONE]"]),
      "[DONE]",
      streamed.requestId,
    ),
  );
  results.push(
    check(
      "no-usage-chunk",
      "no usage chunk unless stream_options.include_usage",
      fixes.noUsage,
      streamFailure ??
        (usageChunks(chunks).length === 0
          ? []
          : ["a chunk with choices: [] was sent although include_usage was not asked for"]),
      "none",
      streamed.requestId,
    ),
  );
  const firstChunkMs = read?.firstChunkMs;
  results.push(
    check(
      "first-chunk",
      `time to first chunk under ${firstChunkLimitMs} ms`,
      fixes.firstChunk,
      streamFailure ??
        (firstChunkMs === undefined
          ? ["no chunk arrived"]
          : firstChunkMs > firstChunkLimitMs
            ? [`${firstChunkMs} ms`]
            : []),
      `${firstChunkMs} ms`,
      streamed.requestId,
    ),
  );

  // 6. Usage chunk when asked for.
  const withUsage = await postStream(post, { model, messages, stream: true, stream_options: { include_usage: true } });
  results.push(
    check(
      "usage-chunk",
      "one usage chunk with stream_options.include_usage",
      fixes.usage,
      withUsage.problem ? [withUsage.problem] : usageProblems(withUsage.read!.chunks),
      "one, last",
      withUsage.requestId,
    ),
  );

  // 7. A streamed tool call (a forced tool must be called).
  const tool = {
    type: "function",
    function: {
      name: "get_weather",
      description: "Get the current weather for a city.",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  };
  const toolStream = await postStream(post, {
    model,
    messages: [{ role: "user", content: "What is the weather in Paris? Use the tool." }],
    stream: true,
    tools: [tool],
    tool_choice: { type: "function", function: { name: "get_weather" } },
  });
  const toolProblems = toolStream.problem
    ? [toolStream.problem]
    : (() => {
        const rules = toolCallProblems(toolStream.read!.chunks);
        const problems = [
          ...rules.problems,
          ...finishReasonProblems(toolStream.read!.chunks, "tool_calls"),
          ...(toolStream.read!.done ? [] : ["the stream does not end with [DONE]"]),
        ];
        if (rules.calls.length > 0 && !rules.calls.some((callMade) => callMade.name === "get_weather"))
          problems.push(
            `the forced tool get_weather was not called (called: ${rules.calls.map((callMade) => callMade.name).join(", ")})`,
          );
        return problems;
      })();
  results.push(
    check(
      "tool-calls",
      "a forced tool call streams as OpenAI does",
      fixes.tools,
      toolProblems,
      "id, type, name first; arguments JSON; finish_reason tool_calls",
      toolStream.requestId,
    ),
  );

  return finish(options.baseUrl, apiType, model, results);
}

function finish(baseUrl: string, apiType: ApiType, model: string | undefined, results: CheckResult[]): DoctorReport {
  return { baseUrl, apiType, model, results, ok: results.every((result) => result.status !== "fail") };
}

interface CallResult {
  response?: Response;
  error?: string;
  sentAt: number;
}

async function call(url: string, init: RequestInit, timeoutMs: number): Promise<CallResult> {
  const sentAt = performance.now();
  try {
    return { response: await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) }), sentAt };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { error: `cannot reach ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, sentAt };
  }
}

async function postStream(
  post: (body: Record<string, unknown>) => Promise<CallResult>,
  body: Record<string, unknown>,
  eventLines: EventLines = "data-only",
): Promise<{ read?: SseRead; problem?: string; requestId?: string | undefined }> {
  const result = await post(body);
  if (result.error) return { problem: result.error };
  const response = result.response!;
  const requestId = requestIdOf(result);
  if (response.status !== 200)
    return { problem: `HTTP ${response.status}: ${describeError(await jsonOf(response))}`, requestId };
  try {
    return { read: await readSseResponse(response, result.sentAt, eventLines), requestId };
  } catch (error) {
    return { problem: `the stream broke off: ${(error as Error).message}`, requestId };
  }
}

/** The server's id of the request (x-request-id, the header OpenAI and its SDKs use), if it gave one. */
function requestIdOf(result: CallResult): string | undefined {
  return result.response?.headers.get("x-request-id") ?? undefined;
}

async function jsonOf(response: Response): Promise<Record<string, unknown> | undefined> {
  try {
    const value: unknown = await response.json();
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function describeError(body: Record<string, unknown> | undefined): string {
  const error = body?.error as { message?: unknown; code?: unknown } | undefined;
  if (typeof error?.message === "string") return `${error.message}${error.code ? ` (${String(error.code)})` : ""}`;
  return body ? JSON.stringify(body).slice(0, 160) : "no JSON body";
}

async function completionProblems(response: Response): Promise<string[]> {
  const body = await jsonOf(response);
  if (response.status !== 200) return [`HTTP ${response.status}: ${describeError(body)}`];
  if (!body) return ["the body is not JSON"];
  const problems: string[] = [];
  if (typeof body.id !== "string") problems.push("id is missing");
  if (body.object !== "chat.completion")
    problems.push(`object is ${JSON.stringify(body.object)}, expected "chat.completion"`);
  if (!Number.isInteger(body.created)) problems.push("created is not an integer (Unix seconds)");
  if (typeof body.model !== "string") problems.push("model is missing");
  const choice = Array.isArray(body.choices)
    ? (body.choices[0] as
        | { index?: unknown; message?: { role?: unknown; content?: unknown }; finish_reason?: unknown }
        | undefined)
    : undefined;
  if (!choice) problems.push("choices is missing or empty");
  else {
    if (typeof choice.index !== "number") problems.push("choices[0].index is missing");
    if (choice.message?.role !== "assistant") problems.push('choices[0].message.role is not "assistant"');
    if (typeof choice.message?.content !== "string" && choice.message?.content !== null)
      problems.push("choices[0].message.content is missing");
    if (typeof choice.finish_reason !== "string") problems.push("choices[0].finish_reason is missing");
  }
  const usage = body.usage as Record<string, unknown> | undefined;
  if (!usage) problems.push("usage is missing");
  else
    for (const field of ["prompt_tokens", "completion_tokens", "total_tokens"])
      if (typeof usage[field] !== "number") problems.push(`usage.${field} is missing`);
  return problems;
}
