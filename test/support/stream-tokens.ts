// One streamed chat request through the openai SDK; returns the content of each chunk, in order.
import type OpenAI from "openai";

export async function streamTokens(
  client: OpenAI,
  content: string,
  onToken?: (pieces: string[]) => Promise<void>,
): Promise<string[]> {
  const stream = await client.chat.completions.create({
    model: "mock-model",
    messages: [{ role: "user", content }],
    stream: true,
  });
  const pieces: string[] = [];
  for await (const chunk of stream) {
    const piece = chunk.choices[0]?.delta.content;
    if (!piece) continue;
    pieces.push(piece);
    await onToken?.(pieces);
  }
  return pieces;
}
