// The doctor's checks for a Responses API endpoint (`POST {base}/responses`, what an ElevenLabs
// agent with `api_type: responses` calls): the non-streamed response object, the request ElevenLabs
// sends, the event stream's framing and rules, the time to the first event and a forced function
// call. Health, models and authentication are checked as for chat completions (run-doctor.ts).
import { check, type CheckResult } from "./check-result.ts";
import { responsesStreamRules } from "./responses-rules.ts";
import type { EventLines, SseRead } from "./sse-stream.ts";

export interface ResponsesCheckContext {
  model: string;
  firstChunkLimitMs: number;
  /** POSTs to {base}/responses and reads the JSON answer. */
  postJson: (
    body: Record<string, unknown>,
  ) => Promise<{ status?: number; body?: Record<string, unknown>; problem?: string }>;
  /** POSTs to {base}/responses and reads the SSE answer. */
  postStream: (body: Record<string, unknown>, eventLines: EventLines) => Promise<{ read?: SseRead; problem?: string }>;
}

const fixes = {
  object:
    'Answer stream:false with one JSON response: id, object "response", status "completed", output [{type:"message", role:"assistant", content:[{type:"output_text", text}]}], usage{input_tokens, output_tokens, total_tokens}.',
  elevenLabs:
    "Accept what an ElevenLabs agent with api_type responses sends: instructions, input items (an assistant greeting before the first user message), temperature 0, max_output_tokens, and its vendor fields elevenlabs_extra_body and user_id.",
  sseHeaders:
    "Answer stream:true with status 200 and Content-Type: text/event-stream; disable compression and proxy buffering (X-Accel-Buffering: no).",
  framing:
    "Write every event as `event: <type>` (optional; equal to the data's type) and `data: {json}`, followed by a blank line.",
  events:
    "Stream as OpenAI does: sequence_number 0, 1, 2, …; response.created first; output_item.added (with an id, and a call_id for function calls) before the item's events, which name it by item_id and output_index; .done values equal to their deltas joined; output_item.done for every item; one terminal event last (response.completed with usage and every item).",
  tools:
    'Pass function tools ({type:"function", name, parameters}) and tool_choice {type:"function", name} to the model and stream its call as a function_call item with call_id, name and arguments (JSON).',
  firstChunk:
    'Send the first event sooner: stream as soon as the model produces tokens, and use buffer words ("... ", trailing space kept) for slow models.',
} as const;

export async function responsesChecks(context: ResponsesCheckContext): Promise<CheckResult[]> {
  const { model } = context;
  const results: CheckResult[] = [];
  const input = [
    { role: "system", content: "You are a helpful voice agent. Answer in one short sentence." },
    { role: "user", content: "Hello! Who am I speaking with?" },
  ];

  const collected = await context.postJson({ model, input, stream: false });
  results.push(
    check(
      "responses-object",
      "non-streaming answer is a complete response object",
      fixes.object,
      collected.problem ? [collected.problem] : responseObjectProblems(collected.body),
      "id, object, status, output, usage",
    ),
  );

  const elevenLabs = await context.postStream(
    {
      model,
      instructions: "You are a helpful voice agent.",
      input: [
        { role: "assistant", content: "Hi! How can I help you today?" },
        { role: "user", content: "What can you do?" },
      ],
      stream: true,
      temperature: 0,
      max_output_tokens: 300,
      user_id: "doctor-user",
      elevenlabs_extra_body: { UUID: "00000000-0000-4000-8000-000000000000" },
    },
    "typed",
  );
  results.push(
    check(
      "responses-elevenlabs-request",
      "accepts the Responses request ElevenLabs sends",
      fixes.elevenLabs,
      elevenLabs.problem ? [elevenLabs.problem] : completedProblems(elevenLabs.read!),
      "instructions, greeting first, temperature 0, vendor fields",
    ),
  );

  const streamed = await context.postStream({ model, input, stream: true }, "typed");
  const failure = streamed.problem ? [streamed.problem] : undefined;
  const read = streamed.read;
  const contentType = read?.headers.get("content-type") ?? "";
  results.push(
    check(
      "responses-sse-headers",
      "streaming answers 200 with Content-Type: text/event-stream",
      fixes.sseHeaders,
      failure ?? (/^text\/event-stream/i.test(contentType) ? [] : [`Content-Type is ${JSON.stringify(contentType)}`]),
      contentType,
    ),
  );
  results.push(
    check(
      "responses-sse-framing",
      "SSE framing: event: and data: lines, blank line after each event",
      fixes.framing,
      failure ?? read!.framingProblems,
      `${read?.chunks.length ?? 0} events`,
    ),
  );
  results.push(
    check(
      "responses-events",
      "the events build the response as OpenAI's do",
      fixes.events,
      failure ?? completedProblems(read!),
      "numbered, created first, items in order, completed last with usage",
    ),
  );
  const firstChunkMs = read?.firstChunkMs;
  results.push(
    check(
      "responses-first-event",
      `time to first event under ${context.firstChunkLimitMs} ms`,
      fixes.firstChunk,
      failure ??
        (firstChunkMs === undefined
          ? ["no event arrived"]
          : firstChunkMs > context.firstChunkLimitMs
            ? [`${firstChunkMs} ms`]
            : []),
      `${firstChunkMs} ms`,
    ),
  );

  const toolStream = await context.postStream(
    {
      model,
      input: "What is the weather in Paris? Use the tool.",
      stream: true,
      tools: [
        {
          type: "function",
          name: "get_weather",
          description: "Get the current weather for a city.",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      ],
      tool_choice: { type: "function", name: "get_weather" },
    },
    "typed",
  );
  results.push(
    check(
      "responses-tool-calls",
      "a forced function call streams as a function_call item",
      fixes.tools,
      toolStream.problem ? [toolStream.problem] : toolProblems(toolStream.read!),
      "call_id, name, arguments JSON",
    ),
  );
  return results;
}

function completedProblems(read: SseRead): string[] {
  const summary = responsesStreamRules(read.chunks);
  const problems = [...summary.problems];
  if (summary.final && summary.final.status !== "completed")
    problems.push(`the response ended ${JSON.stringify(summary.final.status)}, not "completed"`);
  return problems;
}

function toolProblems(read: SseRead): string[] {
  const summary = responsesStreamRules(read.chunks);
  const problems = [...summary.problems];
  const call = summary.calls.find((entry) => entry.name === "get_weather");
  if (!call) return [...problems, `the forced function get_weather was not called (calls: ${summary.calls.length})`];
  if (typeof call.callId !== "string" || call.callId === "") problems.push("the function call has no call_id");
  try {
    JSON.parse(String(call.arguments));
  } catch {
    problems.push(`the arguments are not JSON: ${JSON.stringify(call.arguments)}`);
  }
  return problems;
}

function responseObjectProblems(body: Record<string, unknown> | undefined): string[] {
  if (!body) return ["the body is not JSON"];
  const problems: string[] = [];
  if (typeof body.id !== "string") problems.push("id is missing");
  if (body.object !== "response") problems.push(`object is ${JSON.stringify(body.object)}, expected "response"`);
  if (body.status !== "completed") problems.push(`status is ${JSON.stringify(body.status)}, expected "completed"`);
  const output = Array.isArray(body.output) ? (body.output as Array<Record<string, unknown>>) : undefined;
  const message = output?.find((item) => item.type === "message");
  if (!output) problems.push("output is missing");
  else if (!message) problems.push("output has no message item");
  else if (
    message.role !== "assistant" ||
    !Array.isArray(message.content) ||
    !(message.content as Array<{ type?: unknown; text?: unknown }>).some(
      (part) => part.type === "output_text" && typeof part.text === "string",
    )
  )
    problems.push('the message item is not {role:"assistant", content:[{type:"output_text", text}]}');
  const usage = body.usage as Record<string, unknown> | null | undefined;
  for (const field of ["input_tokens", "output_tokens", "total_tokens"])
    if (typeof usage?.[field] !== "number") problems.push(`usage.${field} is missing`);
  return problems;
}
