// The rules a Responses API stream must keep for strict clients (the openai SDK's ResponseStream
// throws on most of these): numbered events, response.created first and one terminal event last,
// items added before their events and referred to by the right id, deltas that add up to the done
// values, and a completed response that carries usage and every item.
type Event = Record<string, unknown>;

export interface ResponsesStreamSummary {
  problems: string[];
  /** The response of the terminal event, if there was one. */
  final: Record<string, unknown> | undefined;
  /** The text of the message items, from the deltas. */
  text: string;
  /** The function calls, as their output_item.done events gave them. */
  calls: Array<{ callId: unknown; name: unknown; arguments: unknown }>;
}

const terminalTypes = ["response.completed", "response.incomplete", "response.failed"];
const itemScoped = /^response\.(content_part|output_text|refusal|function_call_arguments)\./;

export function responsesStreamRules(events: readonly Event[]): ResponsesStreamSummary {
  const problems: string[] = [];
  const items: Array<{ id: unknown; type: unknown; done: boolean }> = [];
  const texts = new Map<string, string>();
  const argumentsByItem = new Map<number, string>();
  const calls: ResponsesStreamSummary["calls"] = [];
  let final: Record<string, unknown> | undefined;
  let responseId: unknown;
  let expectedNumber: number | undefined;

  if (events.length === 0) return { problems: ["no events"], final, text: "", calls };
  if (events[0]?.type !== "response.created")
    problems.push(`the first event is ${JSON.stringify(events[0]?.type)}, not response.created`);
  for (const [index, event] of events.entries()) {
    const type = String(event.type);
    const number = event.sequence_number;
    if (!Number.isInteger(number)) problems.push(`${type} (event ${index + 1}) has no integer sequence_number`);
    else if (expectedNumber !== undefined && number !== expectedNumber)
      problems.push(`sequence_number goes from ${expectedNumber - 1} to ${String(number)}`);
    expectedNumber = Number.isInteger(number) ? (number as number) + 1 : expectedNumber;
    if (final !== undefined) problems.push(`${type} comes after the terminal event`);
    if (type === "error") problems.push(`an error event: ${JSON.stringify(event.message ?? event.code)}`);

    const response = event.response as Record<string, unknown> | undefined;
    if (response !== undefined) {
      responseId ??= response.id;
      if (response.id !== responseId) problems.push(`${type} names another response id (${String(response.id)})`);
      if (terminalTypes.includes(type)) final = response;
      continue;
    }
    if (type === "response.output_item.added") {
      const item = event.item as Record<string, unknown> | undefined;
      if (event.output_index !== items.length)
        problems.push(`output_item.added has output_index ${String(event.output_index)}, expected ${items.length}`);
      if (typeof item?.id !== "string" || item.id === "") problems.push("an added item has no id");
      if (item?.type === "function_call" && (typeof item.call_id !== "string" || item.call_id === ""))
        problems.push("an added function_call has no call_id");
      items.push({ id: item?.id, type: item?.type, done: false });
      continue;
    }
    const outputIndex = event.output_index as number;
    const item = items[outputIndex];
    if (type === "response.output_item.done") {
      const doneItem = event.item as Record<string, unknown> | undefined;
      if (!item) {
        problems.push(`output_item.done for output_index ${outputIndex}, which was never added`);
        continue;
      }
      if (doneItem?.id !== item.id) problems.push(`output_item.done changes item ${String(item.id)}'s id`);
      item.done = true;
      if (doneItem?.type === "function_call") {
        calls.push({ callId: doneItem.call_id, name: doneItem.name, arguments: doneItem.arguments });
        const streamed = argumentsByItem.get(outputIndex) ?? "";
        if (streamed !== "" && streamed !== doneItem.arguments)
          problems.push(`function call ${String(doneItem.name)}'s argument deltas do not add up to its arguments`);
      }
      continue;
    }
    if (!itemScoped.test(type)) continue;
    if (!item) {
      problems.push(`${type} for output_index ${String(event.output_index)}, which was never added`);
      continue;
    }
    if (event.item_id !== item.id)
      problems.push(
        `${type} names item ${String(event.item_id)}, but output_index ${outputIndex} is ${String(item.id)}`,
      );
    const textKey = `${outputIndex}:${String(event.content_index)}`;
    if (type === "response.output_text.delta") texts.set(textKey, (texts.get(textKey) ?? "") + String(event.delta));
    if (type === "response.output_text.done" && event.text !== (texts.get(textKey) ?? ""))
      problems.push("an output_text.done text is not its deltas joined");
    if (type === "response.function_call_arguments.delta")
      argumentsByItem.set(outputIndex, (argumentsByItem.get(outputIndex) ?? "") + String(event.delta));
  }

  if (final === undefined)
    problems.push("the stream has no terminal event (response.completed, .incomplete or .failed)");
  else {
    if (items.some((item) => !item.done)) problems.push("an item was added but never done");
    if (final.status === "completed") {
      const usage = final.usage as Record<string, unknown> | null | undefined;
      for (const field of ["input_tokens", "output_tokens", "total_tokens"])
        if (typeof usage?.[field] !== "number") problems.push(`response.completed has no usage.${field}`);
      const output = Array.isArray(final.output) ? (final.output as Array<{ id?: unknown }>) : undefined;
      if (output && output.map((entry) => entry.id).join() !== items.map((entry) => entry.id).join())
        problems.push("response.completed's output is not the items streamed");
    }
  }
  return { problems, final, text: [...texts.values()].join(""), calls };
}
