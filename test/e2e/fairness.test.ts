// One key's flood does not starve the others: with two or more API keys, a key may hold at most
// KEY_SLOT_SHARE_PERCENT (50 %) of the deployment's worker slots. Key B's 20 streams are timed on
// the idle gateway; then key A floods it with 300 slow streams, and B's 20 again: every one is
// answered, with a first-token time within twice the idle one, and A's excess is told 429 at once.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMockUpstream, type MockUpstream } from "@switchboard/mock-upstream";
import { routesTo, startStack, type Stack } from "../support/stack.ts";

let mock: MockUpstream;
let stack: Stack;

const keyA = "fairness-key-a-0123456789";
const keyB = "fairness-key-b-0123456789";
const workerSlots = 200;
const floodStreams = 300;
const otherStreams = 20;
/** B's answers: a first token after 200 ms, as an upstream's prefill, then a short answer. */
const otherMock = { tokens: 5, firstTokenDelayMs: 200 };

beforeAll(async () => {
  mock = createMockUpstream();
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
  const startedAt = performance.now();
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
    return { status: response.status, firstContentMs: Number.NaN, done: false };
  }
  let firstContentMs = Number.NaN;
  let text = "";
  const decoder = new TextDecoder();
  for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
    text += decoder.decode(bytes, { stream: true });
    if (Number.isNaN(firstContentMs) && text.includes('"content":"')) firstContentMs = performance.now() - startedAt;
  }
  return { status: 200, firstContentMs, done: text.trimEnd().endsWith("data: [DONE]") };
}

/** B's 20 streams at once; every one must be answered in full. Returns their first-token p99. */
async function otherKeysStreams(): Promise<number> {
  const answers = await Promise.all(Array.from({ length: otherStreams }, () => stream(keyB, otherMock)));
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    expect(answer.done).toBe(true);
  }
  const sorted = answers.map((answer) => answer.firstContentMs).sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length) - 1] as number;
}

describe("a key's share of the worker slots", () => {
  it("keeps key B's 20 streams within twice their idle first-token time while key A floods with 300 slow streams", async () => {
    // Warm the path (connections, JIT), then time B on the idle gateway.
    await otherKeysStreams();
    const idleP99 = await otherKeysStreams();

    // A: 300 streams of 10 s each, more than the deployment's slots.
    const endedA: Record<string, number> = {};
    const flood = Array.from({ length: floodStreams }, async () => {
      const answer = await stream(keyA, { tokens: 100, tokenDelayMs: 100 });
      endedA[answer.status] = (endedA[answer.status] ?? 0) + 1;
      return answer;
    });
    await vi.waitFor(
      () =>
        expect(
          mock.stats().active,
          `key A's admitted streams at the upstream (A's answers so far: ${JSON.stringify(endedA)})`,
        ).toBe(workerSlots / 2),
      { timeout: 15_000, interval: 25 },
    );
    const floodedP99 = await otherKeysStreams();
    // A's streams were still streaming while B's were timed.
    expect(mock.stats().active).toBe(workerSlots / 2);
    const answersA = await Promise.all(flood);

    console.log(
      `fairness: B's first-token p99 idle ${idleP99.toFixed(0)} ms, under A's flood ${floodedP99.toFixed(0)} ms`,
    );
    expect(floodedP99).toBeLessThanOrEqual(2 * idleP99);
    // A held its share (half of the slots) and was told 429 for the rest, at once.
    const admitted = answersA.filter((answer) => answer.status === 200);
    expect(admitted).toHaveLength(workerSlots / 2);
    expect(admitted.every((answer) => answer.done)).toBe(true);
    expect(answersA.filter((answer) => answer.status === 429)).toHaveLength(floodStreams - workerSlots / 2);
  }, 60_000);
});
