// One key's flood does not starve the others: with two or more API keys, a key may hold at most
// KEY_SLOT_SHARE_PERCENT (50 %) of the deployment's worker slots. Key A floods with slow streams;
// key B's requests are all answered, promptly, and A's excess is told 429 at once.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

let mock: MockUpstream;
let stack: Stack;

const keyA = "fairness-key-a-0123456789";
const keyB = "fairness-key-b-0123456789";
const workerSlots = 4;

beforeAll(async () => {
  mock = createMockUpstream({ tokens: 3 });
  const mockUrl = (await mock.listen(0)).url;
  stack = await startStack("fairness", {
    ingresses: 0,
    workers: 0,
    routes: routesTo(mockUrl),
    workerEnv: { WORKER_CONCURRENCY: String(workerSlots) },
    ingressEnv: { API_KEYS: `${keyA},${keyB}` },
  });
  // The worker first, so the ingress knows the slots from its start.
  await stack.startWorker();
  await stack.startIngress();
});
afterAll(async () => {
  await stack?.stop();
  await mock?.close();
});

/** A streamed request; resolves with its status and the time to its first content, once it has ended. */
async function stream(key: string, mockOptions: Record<string, unknown>) {
  const startedAt = Date.now();
  const response = await fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: "mock-model",
      stream: true,
      messages: [{ role: "user", content: "Hi" }],
      mock: mockOptions,
    }),
  });
  if (response.status !== 200) {
    await response.text();
    return { status: response.status, firstContentMs: undefined, done: false };
  }
  let firstContentMs: number | undefined;
  let text = "";
  const decoder = new TextDecoder();
  for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
    text += decoder.decode(bytes, { stream: true });
    if (firstContentMs === undefined && text.includes('"content":"')) firstContentMs = Date.now() - startedAt;
  }
  return { status: 200, firstContentMs, done: text.trimEnd().endsWith("data: [DONE]") };
}

describe("a key's share of the worker slots", () => {
  it("leaves key B prompt answers while key A floods every slot with slow streams", async () => {
    // A: 12 streams of 4 s each, three times the deployment's slots.
    const flood = Array.from({ length: 12 }, () => stream(keyA, { tokens: 40, tokenDelayMs: 100 }));
    // B, while A's streams hold their slots: two at a time, three rounds.
    await vi.waitFor(
      async () => expect(mock.stats().requests >= workerSlots / 2, "key A's streams at the upstream").toBe(true),
      { timeout: 5000, interval: 25 },
    );
    const answersB = [];
    for (let round = 0; round < 3; round++)
      answersB.push(...(await Promise.all([stream(keyB, { tokens: 3 }), stream(keyB, { tokens: 3 })])));
    const answersA = await Promise.all(flood);

    for (const answer of answersB) {
      expect(answer.status).toBe(200);
      expect(answer.done).toBe(true);
      // Promptly: far below QUEUE_MAX_WAIT_MS (3 s) and A's 4 s streams.
      expect(answer.firstContentMs).toBeLessThan(1000);
    }
    // A held its share (half of 4 slots) and was told 429 for the rest, at once.
    const admitted = answersA.filter((answer) => answer.status === 200);
    expect(admitted).toHaveLength(workerSlots / 2);
    expect(admitted.every((answer) => answer.done)).toBe(true);
    expect(answersA.filter((answer) => answer.status === 429)).toHaveLength(12 - workerSlots / 2);
  }, 30_000);
});
