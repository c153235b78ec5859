// `node test/bench/sse-parser.ts`: CPU per streamed request spent parsing the upstream's SSE body,
// for the two parser cores the worker's reading loop (packages/providers/src/sse-reader.ts) could
// sit on: the hand-written line splitter (bare "\r" line ends included) and eventsource-parser. Both
// are written here as the reading loop drives them (text in, a batch of events out per read), so
// the comparison stays runnable whichever one the loop uses. Alternating rounds in one process;
// the median per variant and body shape is printed. See docs/performance.md.
import { createParser, type EventSourceMessage } from "eventsource-parser";

interface ParsedEvent {
  event: string | undefined;
  data: string;
}
interface Parser {
  push(text: string): ParsedEvent[];
  end(): ParsedEvent[];
}

/** The hand-written core: split into lines ("\r\n", "\r" or "\n"), a field per line. */
class LineSplitter implements Parser {
  private partialLine = "";
  private event: string | undefined;
  private data: string[] = [];

  push(text: string): ParsedEvent[] {
    const events: ParsedEvent[] = [];
    let buffer = this.partialLine + text;
    let heldCarriageReturn = false;
    if (buffer.includes("\r")) {
      // A "\r" at the end may be the first half of a "\r\n" split across reads.
      heldCarriageReturn = buffer.endsWith("\r");
      if (heldCarriageReturn) buffer = buffer.slice(0, -1);
      buffer = buffer.replace(/\r\n?/g, "\n");
    }
    const lines = buffer.split("\n");
    this.partialLine = (lines.pop() ?? "") + (heldCarriageReturn ? "\r" : "");
    for (const line of lines) this.line(line, events);
    return events;
  }

  end(): ParsedEvent[] {
    const events: ParsedEvent[] = [];
    const rest = this.partialLine.endsWith("\r") ? this.partialLine.slice(0, -1) : this.partialLine;
    if (rest !== "") this.line(rest, events);
    this.partialLine = "";
    this.line("", events);
    return events;
  }

  private line(line: string, events: ParsedEvent[]): void {
    if (line === "") {
      if (this.data.length > 0) events.push({ event: this.event, data: this.data.join("\n") });
      this.event = undefined;
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
  }
}

/** eventsource-parser's core, driven the same way. */
class EventSourceParserCore implements Parser {
  private events: EventSourceMessage[] = [];
  private readonly parser = createParser({ onEvent: (message) => this.events.push(message) });

  push(text: string): ParsedEvent[] {
    this.parser.feed(text);
    if (this.events.length === 0) return [];
    const events = this.events;
    this.events = [];
    return events as ParsedEvent[];
  }

  end(): ParsedEvent[] {
    return this.push("\n\n");
  }
}

const tokens = Number(process.env.TOKENS ?? "60");
const requests = Number(process.env.REQUESTS ?? "3000");
const rounds = Number(process.env.ROUNDS ?? "9");

/** One streamed OpenAI answer: a role chunk, `tokens` content chunks, the finish and usage chunks, [DONE]. */
function upstreamEvents(): string[] {
  const head = `{"id":"chatcmpl-Bx4x9aLrT0kQ2ZbYc8mN1pQrStUv","object":"chat.completion.chunk","created":1764950000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":`;
  const events = [
    `${head}{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
  ];
  for (let index = 0; index < tokens; index++)
    events.push(`${head}{"content":" word${index}"},"logprobs":null,"finish_reason":null}],"usage":null}`);
  events.push(`${head}{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`);
  events.push(
    `{"id":"chatcmpl-Bx4x9aLrT0kQ2ZbYc8mN1pQrStUv","object":"chat.completion.chunk","created":1764950000,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":812,"completion_tokens":${tokens},"total_tokens":${812 + tokens}}}`,
  );
  events.push("[DONE]");
  return events;
}

/** The reads a worker gets for one answer, in three shapes real upstreams produce. */
function bodies(): Record<string, string[]> {
  const events = upstreamEvents();
  const perRead = events.map((data) => `data: ${data}\n\n`);
  const whole = perRead.join("");
  const coalesced: string[] = [];
  // Reads that cut events anywhere (a busy worker, or a proxy that re-chunks): 1,000 characters.
  for (let offset = 0; offset < whole.length; offset += 1000) coalesced.push(whole.slice(offset, offset + 1000));
  return {
    "one event per read, \\n": perRead,
    "1,000-character reads, \\n": coalesced,
    "one event per read, \\r\\n": events.map((data) => `data: ${data}\r\n\r\n`),
  };
}

const variants: Record<string, () => Parser> = {
  "line splitter": () => new LineSplitter(),
  "eventsource-parser": () => new EventSourceParserCore(),
};

function run(makeParser: () => Parser, reads: string[]): number {
  let events = 0;
  for (let request = 0; request < requests; request++) {
    const parser = makeParser();
    for (const read of reads) events += parser.push(read).length;
    events += parser.end().length;
  }
  return events;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const shapes = bodies();
const expectedEvents = requests * (tokens + 4);
const results: Record<string, number[]> = {};
for (const [shape, reads] of Object.entries(shapes)) {
  for (const makeParser of Object.values(variants)) run(makeParser, reads); // warm up
  for (let round = 0; round < rounds; round++) {
    for (const [variant, makeParser] of Object.entries(variants)) {
      const before = process.cpuUsage();
      const events = run(makeParser, reads);
      const used = process.cpuUsage(before);
      if (events !== expectedEvents) throw new Error(`${variant} parsed ${events} events, expected ${expectedEvents}`);
      (results[`${shape}|${variant}`] ??= []).push((used.user + used.system) / requests);
    }
  }
}

console.log(`CPU per streamed request (${tokens} tokens, ${requests} requests x ${rounds} rounds, median µs):`);
for (const shape of Object.keys(shapes)) {
  const cells = Object.keys(variants).map(
    (variant) => `${variant} ${median(results[`${shape}|${variant}`]!).toFixed(2)}`,
  );
  console.log(`  ${shape.padEnd(28)} ${cells.join("   ")}`);
}
