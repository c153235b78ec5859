// Many concurrent streams while something is broken under them: the first stream calls `kill`
// after each of the given token counts. Returns every stream's tokens and the kills' results.
import type OpenAI from "openai";
import { streamTokens } from "./stream-tokens.ts";

export async function streamsWithKills(
  client: OpenAI,
  options: { streams: number; killAfterTokens: number[]; kill: () => Promise<number> },
): Promise<{ answers: string[][]; kills: number }> {
  let kills = 0;
  const answers = await Promise.all(
    Array.from({ length: options.streams }, (_, index) =>
      streamTokens(client, `r${index}`, async (pieces) => {
        if (index === 0 && options.killAfterTokens.includes(pieces.length)) kills += await options.kill();
      }),
    ),
  );
  return { answers, kills };
}
