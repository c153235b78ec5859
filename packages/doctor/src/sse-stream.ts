// Reads an SSE response the way the strictest client would, and records every framing rule it
// breaks instead of throwing, so the doctor can say exactly what is wrong. Chat-completions streams
// are data-only; Responses API streams name each event (`event: <type>`, equal to the data's type).
export interface SseRead {
  status: number;
  headers: Headers;
  /** Milliseconds from sending the request to the first body bytes. */
  firstChunkMs: number | undefined;
  /** Parsed JSON payloads of the data events, in order ([DONE] excluded). */
  chunks: Array<Record<string, unknown>>;
  /** Whether the last data event was exactly [DONE]. */
  done: boolean;
  /** Framing problems, in words. */
  framingProblems: string[];
  /** The raw body (for bodies that are not SSE, e.g. an error JSON). */
  text: string;
}

/** "data-only": an `event:` line is a framing problem; "typed": it must name the data's `type`. */
export type EventLines = "data-only" | "typed";

export async function readSseResponse(
  response: Response,
  sentAt: number,
  eventLines: EventLines = "data-only",
): Promise<SseRead> {
  let firstChunkMs: number | undefined;
  let text = "";
  const decoder = new TextDecoder();
  if (response.body) {
    for await (const bytes of response.body as unknown as AsyncIterable<Uint8Array>) {
      firstChunkMs ??= Math.round(performance.now() - sentAt);
      text += decoder.decode(bytes, { stream: true });
    }
  }
  text += decoder.decode();
  return { status: response.status, headers: response.headers, firstChunkMs, text, ...parseEvents(text, eventLines) };
}

function parseEvents(raw: string, eventLines: EventLines): Pick<SseRead, "chunks" | "done" | "framingProblems"> {
  const framingProblems: string[] = [];
  const chunks: Array<Record<string, unknown>> = [];
  const text = raw.replaceAll("\r\n", "\n");
  if (text.length > 0 && !text.endsWith("\n\n"))
    framingProblems.push("the stream does not end with a blank line (each event must end with \\n\\n)");
  let done = false;
  let afterDone = false;
  const blocks = text.split("\n\n").filter((block) => block.trim() !== "");
  for (const [index, block] of blocks.entries()) {
    const data: string[] = [];
    let eventName: string | undefined;
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue; // comment / heartbeat: allowed
      if (line.startsWith("data:")) {
        data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        continue;
      }
      if (line.startsWith("event:") && eventLines === "typed") eventName = line.slice(6).trim();
      else if (line.startsWith("event:"))
        framingProblems.push(
          `event ${index + 1} has an "event:" line (${line}); strict clients expect data-only events`,
        );
      else
        framingProblems.push(
          `event ${index + 1} has a line that is not "data: …": ${JSON.stringify(line.slice(0, 80))}`,
        );
    }
    if (data.length === 0) continue;
    const payload = data.join("\n");
    if (afterDone) framingProblems.push(`event ${index + 1} comes after data: [DONE]`);
    if (payload === "[DONE]") {
      done = true;
      afterDone = true;
      continue;
    }
    done = false;
    try {
      const parsed: unknown = JSON.parse(payload);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        chunks.push(parsed as Record<string, unknown>);
        const type = (parsed as { type?: unknown }).type;
        if (eventName !== undefined && eventName !== type)
          framingProblems.push(
            `event ${index + 1} is named ${JSON.stringify(eventName)} but its type is ${JSON.stringify(type)}`,
          );
      } else framingProblems.push(`event ${index + 1} is JSON but not an object`);
    } catch {
      framingProblems.push(`event ${index + 1} is not valid JSON: ${JSON.stringify(payload.slice(0, 80))}`);
    }
  }
  return { chunks, done, framingProblems };
}
