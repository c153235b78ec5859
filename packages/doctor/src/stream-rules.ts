// The rules a chat.completion.chunk stream must follow for strict OpenAI clients (openai-node's
// stream helper, the Vercel AI SDK, LangChain) and ElevenLabs. Each returns the problems found.
type Chunk = Record<string, unknown>;
interface Choice {
  index?: unknown;
  delta?: Record<string, unknown> | null;
  finish_reason?: unknown;
}

function choicesOf(chunk: Chunk): Choice[] {
  return Array.isArray(chunk.choices) ? (chunk.choices as Choice[]) : [];
}

/** Chunks that carry a choice (the usage chunk has choices: []). */
function choiceChunks(chunks: readonly Chunk[]): Chunk[] {
  return chunks.filter((chunk) => choicesOf(chunk).length > 0);
}

export function chunkShapeProblems(chunks: readonly Chunk[]): string[] {
  const problems: string[] = [];
  if (chunks.length === 0) return ["the stream carried no chunks"];
  for (const [index, chunk] of chunks.entries()) {
    const where = `chunk ${index + 1}`;
    if (chunk.error !== undefined) {
      problems.push(`${where} is an error: ${JSON.stringify(chunk.error).slice(0, 200)}`);
      continue;
    }
    if (chunk.object !== "chat.completion.chunk")
      problems.push(`${where}: object is ${JSON.stringify(chunk.object)}, expected "chat.completion.chunk"`);
    if (typeof chunk.id !== "string") problems.push(`${where}: id is missing`);
    if (!Number.isInteger(chunk.created)) problems.push(`${where}: created is not an integer (Unix seconds)`);
    if (typeof chunk.model !== "string") problems.push(`${where}: model is missing`);
    if (!Array.isArray(chunk.choices)) {
      problems.push(`${where}: choices is not an array`);
      continue;
    }
    for (const choice of choicesOf(chunk)) {
      if (typeof choice.index !== "number") problems.push(`${where}: a choice has no index`);
      if (typeof choice.delta !== "object" || choice.delta === null)
        problems.push(`${where}: a choice has no delta object`);
    }
  }
  return problems;
}

export function stableIdProblems(chunks: readonly Chunk[]): string[] {
  const ids = new Set(chunks.map((chunk) => chunk.id));
  const created = new Set(chunks.map((chunk) => chunk.created));
  const problems: string[] = [];
  if (ids.size > 1)
    problems.push(
      `${ids.size} different ids in one stream (${[...ids]
        .slice(0, 3)
        .map((id) => JSON.stringify(id))
        .join(", ")}, …)`,
    );
  if (created.size > 1) problems.push(`${created.size} different created values in one stream`);
  return problems;
}

export function roleProblems(chunks: readonly Chunk[]): string[] {
  const withChoices = choiceChunks(chunks);
  const first = withChoices[0];
  if (!first) return ["no chunk carried a choice"];
  const problems: string[] = [];
  if (choicesOf(first)[0]?.delta?.role !== "assistant")
    problems.push('the first chunk\'s delta has no role "assistant"');
  const later = withChoices
    .slice(1)
    .filter((chunk) => choicesOf(chunk).some((choice) => choice.delta?.role !== undefined));
  if (later.length > 0) problems.push(`${later.length} later chunk(s) repeat delta.role`);
  return problems;
}

export function finishReasonProblems(chunks: readonly Chunk[], expected?: string): string[] {
  const withChoices = choiceChunks(chunks);
  const last = withChoices.at(-1);
  if (!last) return ["no chunk carried a choice"];
  const problems: string[] = [];
  const early = withChoices
    .slice(0, -1)
    .filter((chunk) =>
      choicesOf(chunk).some((choice) => choice.finish_reason !== null && choice.finish_reason !== undefined),
    );
  if (early.length > 0) problems.push(`${early.length} chunk(s) before the last carry a finish_reason`);
  const finish = choicesOf(last)[0]?.finish_reason;
  if (typeof finish !== "string") problems.push("the last chunk has no finish_reason");
  else if (expected !== undefined && finish !== expected)
    problems.push(`the last finish_reason is ${JSON.stringify(finish)}, expected ${JSON.stringify(expected)}`);
  return problems;
}

export function usageChunks(chunks: readonly Chunk[]): Chunk[] {
  return chunks.filter((chunk) => Array.isArray(chunk.choices) && chunk.choices.length === 0);
}

export function usageProblems(chunks: readonly Chunk[]): string[] {
  const found = usageChunks(chunks);
  if (found.length !== 1) return [`${found.length} chunks with choices: [] (expected exactly one, with usage)`];
  const problems: string[] = [];
  if (chunks.at(-1) !== found[0]) problems.push("the usage chunk is not the last chunk before [DONE]");
  const usage = found[0]!.usage as Record<string, unknown> | undefined;
  for (const field of ["prompt_tokens", "completion_tokens", "total_tokens"]) {
    if (typeof usage?.[field] !== "number") problems.push(`usage.${field} is missing`);
  }
  return problems;
}

interface ToolFragment {
  index?: unknown;
  id?: unknown;
  type?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

/** Tool-call fragments as OpenAI streams them; returns the problems and the assembled calls. */
export function toolCallProblems(chunks: readonly Chunk[]): {
  problems: string[];
  calls: Array<{ id: string; name: string; arguments: string }>;
} {
  const problems: string[] = [];
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  for (const chunk of choiceChunks(chunks)) {
    const fragments = (choicesOf(chunk)[0]?.delta?.tool_calls ?? []) as ToolFragment[];
    if (!Array.isArray(fragments)) {
      problems.push("delta.tool_calls is not an array");
      continue;
    }
    for (const fragment of fragments) {
      if (typeof fragment.index !== "number") {
        problems.push("a tool-call fragment has no numeric index");
        continue;
      }
      if (typeof fragment.function !== "object" || fragment.function === null)
        problems.push(`tool call ${fragment.index}: a fragment has no function object`);
      const known = calls.get(fragment.index);
      if (!known) {
        if (typeof fragment.id !== "string" || fragment.id === "")
          problems.push(`tool call ${fragment.index}: the first fragment has no id`);
        if (fragment.type !== "function")
          problems.push(`tool call ${fragment.index}: the first fragment has no type "function"`);
        if (typeof fragment.function?.name !== "string" || fragment.function.name === "")
          problems.push(`tool call ${fragment.index}: the first fragment has no function.name`);
        calls.set(fragment.index, {
          id: String(fragment.id ?? ""),
          name: String(fragment.function?.name ?? ""),
          arguments: typeof fragment.function?.arguments === "string" ? fragment.function.arguments : "",
        });
      } else if (typeof fragment.function?.arguments === "string") {
        known.arguments += fragment.function.arguments;
      }
    }
  }
  if (calls.size === 0) problems.push("no tool call was streamed although tool_choice forced one");
  const indexes = [...calls.keys()].sort((a, b) => a - b);
  if (indexes.some((value, position) => value !== position))
    problems.push(`tool call indexes are ${JSON.stringify(indexes)}, expected 0, 1, …`);
  for (const [index, call] of calls) {
    try {
      JSON.parse(call.arguments === "" ? "{}" : call.arguments);
    } catch {
      problems.push(
        `tool call ${index}: the arguments do not assemble into JSON: ${JSON.stringify(call.arguments.slice(0, 80))}`,
      );
    }
  }
  return { problems, calls: [...calls.values()] };
}
