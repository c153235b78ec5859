// The Redis keys the KEDA ScaledObject (infra/k8s/worker-scaledobject.yaml) reads are the lists
// BullMQ really fills: a request no worker has taken waits in `{prefix}:chat:wait`, a request
// being answered sits in `{prefix}:chat:active`. Checked on a real Redis with real processes.
import OpenAI from "openai";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadK8sObjects } from "../support/deploy-files.ts";
import { startStack, type Stack } from "../support/stack.ts";

let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  stack = await startStack("keda", { workers: 0, workerEnv: { SIMULATED_FIRST_TOKEN_DELAY_MS: "1500" } });
  redis = new Redis(stack.redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** The ScaledObject's list names, with the manifest's key prefix replaced by this test's. */
function scaledLists(): { wait: string; active: string } {
  const scaled = loadK8sObjects().find((object) => object.kind === "ScaledObject")!;
  const lists = (scaled.spec.triggers as Array<{ metadata: { listName: string } }>).map((trigger) =>
    trigger.metadata.listName.replace("{switchboard}", `{${stack.prefix}}`),
  );
  return {
    wait: lists.find((name) => name.endsWith(":wait"))!,
    active: lists.find((name) => name.endsWith(":active"))!,
  };
}

describe("the KEDA ScaledObject's keys", () => {
  it("count a request waiting for a worker, then the request being answered", async () => {
    const { wait, active } = scaledLists();
    const client = new OpenAI({ baseURL: stack.urls[0], apiKey: "unused", maxRetries: 0 });
    const answer = client.chat.completions.create({
      model: "switchboard-sim",
      messages: [{ role: "user", content: "queued" }],
    });
    await vi.waitFor(async () => expect((await redis.llen(wait)) === 1, `nothing arrived in ${wait}`).toBe(true), {
      timeout: 10_000,
      interval: 25,
    });
    expect(await redis.type(wait)).toBe("list");
    await stack.startWorker();
    await vi.waitFor(async () => expect((await redis.llen(active)) === 1, `nothing arrived in ${active}`).toBe(true), {
      timeout: 10_000,
      interval: 25,
    });
    expect(await redis.type(active)).toBe("list");
    expect(await redis.llen(wait)).toBe(0);
    expect((await answer).choices[0]?.message.content).toBeTruthy();
    expect(await redis.llen(active)).toBe(0);
  });
});
