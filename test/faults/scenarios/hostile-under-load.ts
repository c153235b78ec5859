// Hostile bodies while normal traffic runs: 50 streams are timed on the quiet gateway, then again
// while attackers send every kind of hostile request at once, each kind again 250 ms after its last
// answer: 9.9 MB bodies of 3.3 million empty objects, model ids that are Object.prototype's own
// names, a UTF-16 body with deep nesting, a corrupt gzip body, and a key over its concurrency limit
// (it holds all its streams through both phases) sending a 5 MB body. The normal streams must all
// complete, their first-token p99 within twice the quiet one; the processes must stay up and under
// 300 MB; and no job may be left in Redis without an expiry.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { Redis } from "ioredis";
import { residentMb, startFaultStack, waitFor } from "../support/fault-stack.ts";
import { clock, countBy, summary } from "../support/figures.ts";

const normalKey = "faults-hostile-normal-key-0123";
const attackerKey = "faults-hostile-attacker-key-0123";
const limitedKey = "faults-hostile-limited-key-0123";
/** Each attacker's pause between its requests: a steady attack, not a flood of cheap requests. */
const attackPauseMs = 250;
/** Concurrent streams per key: room for the normal key's; the limited key holds them all. */
const limitedStreams = 60;
/** The limited key's streams: a token a second, longer than the run. */
const heldRequest = {
  model: "mock-model",
  messages: [{ role: "user", content: "Hello" }],
  mock: { tokens: 600, tokenDelayMs: 1000 },
};
/** Normal answers: first token after 200 ms (an upstream's prefill), then 20 tokens 25 ms apart. */
const normalMock = { tokens: 20, tokenDelayMs: 25, firstTokenDelayMs: 200 };

interface Kind {
  name: string;
  key: string;
  body: Buffer;
  headers?: Record<string, string>;
}

function hostileKinds(): Kind[] {
  const valid = { model: "mock-model", messages: [{ role: "user", content: "Hello" }] };
  const deep = `{"model":"mock-model","messages":[{"role":"user","content":"hi"}],"x":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}}`;
  return [
    {
      name: "9.9 MB of empty objects",
      key: attackerKey,
      body: Buffer.from(`${JSON.stringify(valid).slice(0, -1)},"x":[${"{},".repeat(3_299_999)}{}]}`),
    },
    ...["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"].map((model) => ({
      name: `model ${model}`,
      key: attackerKey,
      body: Buffer.from(JSON.stringify({ ...valid, model, stream: true })),
    })),
    {
      name: "UTF-16 charset, deep nesting",
      key: attackerKey,
      body: Buffer.from(deep, "utf16le"),
      headers: { "content-type": "application/json; charset=utf-16le" },
    },
    {
      name: "corrupt gzip",
      key: attackerKey,
      body: Buffer.concat([
        gzipSync(JSON.stringify(valid)).subarray(0, 10),
        Buffer.from("not deflate data ".repeat(64)),
      ]),
      headers: { "content-encoding": "gzip" },
    },
    {
      name: "over its concurrency limit, 5 MB body",
      key: limitedKey,
      body: Buffer.from(JSON.stringify({ ...valid, messages: [{ role: "user", content: "y".repeat(5_000_000) }] })),
    },
  ];
}

export interface HostileUnderLoadFigures {
  streams: number;
  quiet: { outcomes: Record<string, number>; firstTokenMs: ReturnType<typeof summary> };
  attacked: { outcomes: Record<string, number>; firstTokenMs: ReturnType<typeof summary> };
  /** Hostile requests sent during the attacked phase: answers by kind, then status and code. */
  attack: Record<string, Record<string, number>>;
  /** The limited key's own streams, held from before the quiet phase to the end of the attack. */
  heldStatuses: Record<string, number>;
  peakRssMb: { ingress: number; worker: number };
  crashes: number;
  /** Keys in Redis without an expiry once the run has settled, other than the queue's own (must be none). */
  keysWithoutExpiry: string[];
}

async function post(url: string, key: string, body: Buffer | string, headers: Record<string, string> = {}) {
  try {
    const response = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
      body,
    });
    const code = /"code":"([a-z_]+)"/.exec(await response.text())?.[1];
    return `${response.status}${code ? ` ${code}` : ""}`;
  } catch (error) {
    return `broken:${(error as Error).name}`;
  }
}

/** One normal stream: its outcome and time to its first content. */
async function normalStream(url: string): Promise<{ outcome: string; firstTokenMs: number }> {
  const startedAt = clock();
  try {
    const response = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${normalKey}` },
      body: JSON.stringify({
        model: "mock-model",
        stream: true,
        messages: [{ role: "user", content: "Hello" }],
        mock: normalMock,
      }),
    });
    if (response.status !== 200) {
      const code = /"code":"([a-z_]+)"/.exec(await response.text())?.[1];
      return { outcome: `http-${response.status}-${code}`, firstTokenMs: Number.NaN };
    }
    let firstTokenMs = Number.NaN;
    let text = "";
    const decoder = new TextDecoder();
    for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
      text += decoder.decode(bytes, { stream: true });
      if (Number.isNaN(firstTokenMs) && text.includes('"content":"')) firstTokenMs = clock() - startedAt;
    }
    const outcome = text.trimEnd().endsWith("data: [DONE]")
      ? "done"
      : `error-${/"code":"([a-z_]+)"/.exec(text)?.[1] ?? "none"}`;
    return { outcome, firstTokenMs };
  } catch (error) {
    return { outcome: `broken:${(error as Error).name}`, firstTokenMs: Number.NaN };
  }
}

/** `streams` concurrent loops of `rounds` streams each. */
async function normalPhase(url: string, streams: number, rounds: number) {
  const results = (
    await Promise.all(
      Array.from({ length: streams }, async () => {
        const mine = [];
        for (let round = 0; round < rounds; round++) mine.push(await normalStream(url));
        return mine;
      }),
    )
  ).flat();
  return {
    outcomes: countBy(results, (result) => result.outcome),
    firstTokenMs: summary(results.filter((result) => result.outcome === "done").map((result) => result.firstTokenMs)),
  };
}

export async function measureHostileUnderLoad(streams: number, rounds: number): Promise<HostileUnderLoadFigures> {
  const stack = await startFaultStack({
    mockProcess: true,
    routes: (mockUrl) => ({
      providers: { upstream: { type: "openai", baseUrl: mockUrl, apiKeyEnv: "UPSTREAM_API_KEY" } },
      // A named model only: a prototype name must not find a route.
      routes: { "mock-model": { provider: "upstream", passFields: ["mock"] } },
    }),
    ingressEnv: {
      API_KEYS: [normalKey, attackerKey, limitedKey].join(","),
      RATE_LIMIT_CONCURRENT_STREAMS: String(limitedStreams),
      // The held streams outlast the run.
      REQUEST_TIMEOUT_MS: "300000",
    },
  });
  const redis = new Redis(stack.redis.url);
  try {
    const url = stack.urls[0]!;
    const ingress = stack.ingresses[0]!;
    const worker = stack.workers[0]!;
    // The limited key holds all its concurrent streams (slow ones, for the whole run) before
    // anything is timed; its large bodies are then over its limit.
    const holding = new AbortController();
    const held = Array.from({ length: limitedStreams }, () =>
      fetch(`${url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${limitedKey}` },
        body: JSON.stringify({ ...heldRequest, stream: true }),
        signal: holding.signal,
      })
        .then(async (response) => {
          await response.arrayBuffer();
          return String(response.status);
        })
        .catch((error: unknown) => (holding.signal.aborted ? "held until the end" : `broken:${(error as Error).name}`)),
    );
    await waitFor(async () => (await stack.stats()).active >= limitedStreams, 30_000, "the limited key's streams");
    await normalPhase(url, streams, 1); // warm-up
    const quiet = await normalPhase(url, streams, rounds);

    const kinds = hostileKinds();
    const attackAnswers: Array<{ kind: string; status: string }> = [];
    let attacking = true;
    const peak = { ingress: 0, worker: 0 };
    const sampler = setInterval(() => {
      peak.ingress = Math.max(peak.ingress, residentMb(ingress.child.pid));
      peak.worker = Math.max(peak.worker, residentMb(worker.child.pid));
    }, 50);
    // One attacker per kind, each sending its kind again 250 ms after its last answer.
    const attackers = kinds.map(async (kind) => {
      while (attacking) {
        attackAnswers.push({ kind: kind.name, status: await post(url, kind.key, kind.body, kind.headers) });
        await new Promise((resolve) => setTimeout(resolve, attackPauseMs));
      }
    });
    const attacked = await normalPhase(url, streams, rounds);
    attacking = false;
    await Promise.all(attackers);
    clearInterval(sampler);
    holding.abort();
    const heldStatuses = countBy(await Promise.all(held), (status) => status);
    const crashes = [ingress, worker].filter(
      (service) => service.child.exitCode !== null || service.child.signalCode !== null,
    ).length;

    const attack: Record<string, Record<string, number>> = {};
    for (const kind of kinds)
      attack[kind.name] = countBy(
        attackAnswers.filter((answer) => answer.kind === kind.name),
        (answer) => answer.status,
      );
    return {
      streams,
      heldStatuses,
      quiet,
      attacked,
      attack,
      peakRssMb: {
        ingress: Math.max(peak.ingress, peakOf(ingress.child.pid)),
        worker: Math.max(peak.worker, peakOf(worker.child.pid)),
      },
      crashes,
      keysWithoutExpiry: await keysWithoutExpiry(redis, stack.prefix),
    };
  } finally {
    redis.disconnect();
    await stack.stop();
  }
}

/** Peak resident memory so far (VmHWM), in MB. */
function peakOf(pid: number | undefined): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * BullMQ's own keys of the queue (lists, sets, counters) live as long as the queue, and the
 * deployment's worker registry as long as the deployment; requests' keys (jobs, logs, limits) must not.
 */
function lastingKeys(prefix: string): RegExp {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^(\\{${escaped}\\}:chat:(meta|id|events|wait|paused|active|completed|failed|delayed|prioritized|marker|stalled|stalled-check|pc|limiter|repeat)|${escaped}:workers|${escaped}:worker-slots)$`,
  );
}

/**
 * Every other key without an expiry, once the queue has settled (no job waiting or active): a job
 * hash is named with the state it is in (a failed job is kept, without an expiry, for inspection).
 */
async function keysWithoutExpiry(redis: Redis, prefix: string): Promise<string[]> {
  const queue = `{${prefix}}:chat`;
  const lasting = lastingKeys(prefix);
  await waitFor(
    async () => (await redis.llen(`${queue}:active`)) + (await redis.llen(`${queue}:wait`)) === 0,
    10_000,
    "the queue did not settle",
  );
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      if (lasting.test(key) || (await redis.ttl(key)) !== -1) continue;
      const id = key.startsWith(`${queue}:`) ? key.slice(queue.length + 1) : undefined;
      const failed = id !== undefined && !id.includes(":") && (await redis.zscore(`${queue}:failed`, id)) !== null;
      found.push(failed ? `${key} (failed job)` : key);
    }
  } while (cursor !== "0");
  return found;
}
