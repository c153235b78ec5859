// Many concurrent streams while something is broken under them: the first stream calls `kill`
// after each of the given token counts. Returns every stream's tokens and the kills' results.
import type OpenAI from "openai";

export async function streamsWithKills(client: OpenAI, options: { streams: number; killAfterTokens: number[]; kill: () => Promise<number> }): Promise<{ answers: string[][]; kills: number }> {
  let kills = 0;
  const answers = await Promise.all(
    Array.from({ length: options.streams }, async (_, index) => {
      const stream = await client.chat.completions.create({ model: "mock-model", messages: [{ role: "user", content: `r${index}` }], stream: true });
      const pieces: string[] = [];
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta.content;
        if (!content) continue;
        pieces.push(content);
        if (index === 0 && options.killAfterTokens.includes(pieces.length)) kills += await options.kill();
      }
      return pieces;
    }),
  );
  return { answers, kills };
}
