// A steady load of streamed chat requests over raw HTTP: `concurrency` loops, each sending the next
// request as soon as the previous one ended, until stopped. Every request's end is recorded as the
// client saw it: `[DONE]` after the tokens, an explicit error (HTTP status or in-stream error
// event), or a broken stream.
import { chatBody, readSse } from "@switchboard/testing";

export interface LoadOutcome {
  sentAt: number;
  endedAt: number;
  /** "done", "error:<code>" (explicit), or "broken:<what>" (no explicit end). */
  outcome: string;
}

export interface SteadyLoad {
  outcomes: LoadOutcome[];
  /** Stop sending; resolves when every request in flight has ended. */
  stop(): Promise<LoadOutcome[]>;
}

/** refusedPauseMs: how long a loop waits after a request that did not succeed before sending the next. */
export function startSteadyLoad(
  url: string,
  concurrency: number,
  abortAfterMs: number,
  refusedPauseMs = 20,
): SteadyLoad {
  const outcomes: LoadOutcome[] = [];
  let running = true;
  const loops = Array.from({ length: concurrency }, async (_, loop) => {
    for (let index = 0; running; index++) {
      const sentAt = Date.now();
      const outcome = await streamOnce(url, `l${loop}-${index}`, abortAfterMs);
      outcomes.push({ sentAt, endedAt: Date.now(), outcome });
      // A client that was refused pauses a little, as real ones do, rather than spin on fast 503s.
      if (outcome !== "done") await new Promise((resolve) => setTimeout(resolve, refusedPauseMs));
    }
  });
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

async function streamOnce(url: string, content: string, abortAfterMs: number): Promise<string> {
  try {
    const response = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer unused" },
      body: JSON.stringify(chatBody({ messages: [{ role: "user", content }], stream: true })),
      signal: AbortSignal.timeout(abortAfterMs),
    });
    if (response.status !== 200) return `error:${errorCode(await response.text()) ?? `http-${response.status}`}`;
    const events = await readSse(response);
    const inStreamError = events
      .map((event) => (event.json?.error as { code?: string } | undefined)?.code)
      .find((code) => code !== undefined);
    if (inStreamError) return `error:${inStreamError}`;
    return events.at(-1)?.data === "[DONE]" ? "done" : "broken:no-end";
  } catch (error) {
    return `broken:${(error as Error).name}`;
  }
}

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? undefined;
  } catch {
    return undefined;
  }
}
