// Streamed conversation turns through the openai SDK, for the supersession and timeline tests: a
// turn that reports its first token (so the next turn can be sent while it streams) and how it ended.
import OpenAI from "openai";

export interface TurnOptions {
  /** The ingress's base URL (…/v1). */
  url: string;
  apiKey?: string;
  headers?: Record<string, string>;
  /** Body fields besides model, messages and stream (mock, user, elevenlabs_extra_body, …). */
  body?: Record<string, unknown>;
  model?: string;
}

interface TurnEnd {
  text: string;
  /** Content deltas received. */
  chunks: number;
  finishReason: string | null;
  /** The error the SDK raised, if the stream ended with one. */
  error?: unknown;
}

export interface Turn {
  /** Resolves at the first content delta. */
  firstToken: Promise<void>;
  done: Promise<TurnEnd>;
}

export function startTurn(options: TurnOptions): Turn {
  const client = new OpenAI({ baseURL: options.url, apiKey: options.apiKey ?? "unused", maxRetries: 0 });
  let tokenArrived: () => void = () => {};
  const firstToken = new Promise<void>((resolve) => {
    tokenArrived = resolve;
  });
  const done = (async (): Promise<TurnEnd> => {
    const end: TurnEnd = { text: "", chunks: 0, finishReason: null };
    try {
      const body = {
        model: options.model ?? "mock-model",
        messages: [{ role: "user" as const, content: "Tell me something." }],
        stream: true as const,
        ...options.body,
      };
      const stream = await client.chat.completions.create(body, { headers: options.headers ?? {} });
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice?.delta.content) {
          end.text += choice.delta.content;
          end.chunks++;
          tokenArrived();
        }
        if (choice?.finish_reason) end.finishReason = choice.finish_reason;
      }
    } catch (error) {
      end.error = error;
    }
    tokenArrived();
    return end;
  })();
  return { firstToken, done };
}
