// A hostile world's figures: bodies whose cost is in their values, not their bytes; an upstream
// whose errors quote secrets, whose Retry-After is 100000 s and whose finish_reason writes SSE
// events; and one API key flooding the workers while another needs answers.
import { readFileSync } from "node:fs";
import { startFaultStack } from "../support/fault-stack.ts";
import { clock, summary } from "../support/figures.ts";

const valid = { model: "mock-model", messages: [{ role: "user", content: "Hello" }] };

function peakMb(pid: number | undefined): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers; ms: number }> {
  const startedAt = clock();
  const response = await fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, headers: response.headers, ms: clock() - startedAt };
}

export interface ValuesFloodFigures {
  bodies: number;
  bodyMb: number;
  statuses: Record<string, number>;
  answerMs: { n: number; p50: number; p99: number; max: number };
  ingressPeakMb: { before: number; after: number };
}

/** rounds × concurrent bodies of 9.9 MB holding 3.3 million empty objects. */
export async function measureValuesFlood(rounds: number, concurrent: number): Promise<ValuesFloodFigures> {
  const stack = await startFaultStack();
  try {
    const url = stack.urls[0]!;
    const body = Buffer.from(`${JSON.stringify(valid).slice(0, -1)},"x":[${"{},".repeat(3_299_999)}{}]}`);
    await post(url, JSON.stringify(valid));
    const pid = stack.ingresses[0]!.child.pid;
    const before = peakMb(pid);
    const answers: Array<{ status: number; ms: number }> = [];
    for (let round = 0; round < rounds; round++)
      answers.push(...(await Promise.all(Array.from({ length: concurrent }, () => post(url, body)))));
    const statuses: Record<string, number> = {};
    for (const answer of answers) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    return {
      bodies: answers.length,
      bodyMb: body.length / 1_000_000,
      statuses,
      answerMs: summary(answers.map((answer) => answer.ms)),
      ingressPeakMb: { before, after: peakMb(pid) },
    };
  } finally {
    await stack.stop();
  }
}

export interface UpstreamLeakFigures {
  failures: number;
  /** Client answers holding any of the upstream's secrets (must be 0). */
  leakedToClient: number;
  /** The largest Retry-After a client was told (the upstream said 100000). */
  maxRetryAfterSeconds: number;
  /** Worker log lines with the upstream's text: how many, and how many still hold a secret. */
  loggedLines: number;
  secretsInLog: number;
  /** Streams ended by a finish_reason that tries to inject events: [DONE]s per stream, injected events seen. */
  injectedStreams: number;
  doneCounts: number[];
  injectedEvents: number;
}

export async function measureUpstreamLeaks(repeats: number): Promise<UpstreamLeakFigures> {
  const stack = await startFaultStack({ workerEnv: { UPSTREAM_RETRIES: "0" } });
  try {
    const url = stack.urls[0]!;
    const key = "sk-live-0123456789abcdef0123456789abcdef";
    const org = "org-0123456789abcdef01234567";
    const credentials = "admin:s3cr3t-pass";
    const text = `Quota of ${org} used by ${key}; see http://${credentials}@10.9.8.7/internal`;
    const secrets = [key, org, credentials, text];
    const failures = [
      { kind: "http", status: 400 },
      { kind: "http", status: 404 },
      { kind: "http", status: 429, retryAfterSeconds: 100_000 },
      { kind: "http", status: 500 },
      { kind: "http", status: 503 },
      { kind: "in-stream-error" },
      { kind: "in-stream-error", afterTokens: 2 },
    ];
    let leaked = 0;
    let maxRetryAfter = 0;
    let sent = 0;
    for (let index = 0; index < repeats; index++)
      for (const fail of failures) {
        const answer = await post(
          url,
          JSON.stringify({ ...valid, stream: index % 2 === 0, mock: { fail: { ...fail, message: text } } }),
        );
        sent++;
        if (secrets.some((secret) => answer.text.includes(secret))) leaked++;
        maxRetryAfter = Math.max(maxRetryAfter, Number(answer.headers.get("retry-after") ?? 0));
      }
    const injected = 'stop"}]}\n\ndata: {"injected":true}\n\ndata: [DONE]\n\n';
    const doneCounts: number[] = [];
    let injectedEvents = 0;
    for (let index = 0; index < repeats; index++) {
      const answer = await post(url, JSON.stringify({ ...valid, stream: true, mock: { finishReason: injected } }));
      const blocks = answer.text.split("\n\n").filter((block) => block !== "");
      doneCounts.push(blocks.filter((block) => block === "data: [DONE]").length);
      injectedEvents += blocks.filter((block) => block.startsWith('data: {"injected"')).length;
    }
    const logged = stack.workers.flatMap((worker) => worker.output).filter((line) => line.includes("Quota of"));
    return {
      failures: sent,
      leakedToClient: leaked,
      maxRetryAfterSeconds: maxRetryAfter,
      loggedLines: logged.length,
      secretsInLog: logged.filter((line) => [key, org, credentials].some((secret) => line.includes(secret))).length,
      injectedStreams: repeats,
      doneCounts,
      injectedEvents,
    };
  } finally {
    await stack.stop();
  }
}

export interface FairnessFigures {
  slots: number;
  floodStreams: number;
  floodAccepted: number;
  floodRefused: number;
  otherRequests: number;
  otherStatuses: Record<string, number>;
  otherFirstTokenMs: { n: number; p50: number; p99: number; max: number };
}

/** Key A opens floodStreams slow streams; key B sends otherRequests short ones, two at a time, meanwhile. */
export async function measureFairness(
  slots: number,
  floodStreams: number,
  otherRequests: number,
): Promise<FairnessFigures> {
  const keys = ["faults-fairness-key-a-012345", "faults-fairness-key-b-012345"];
  const stack = await startFaultStack({
    workers: 0,
    ingresses: 0,
    workerEnv: { WORKER_CONCURRENCY: String(slots) },
    ingressEnv: { API_KEYS: keys.join(",") },
  });
  try {
    await stack.startWorker();
    await stack.startIngress();
    const url = stack.urls[0]!;
    const streamOf = async (key: string, mock: Record<string, unknown>) => {
      const startedAt = clock();
      const response = await fetch(`${url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
        body: JSON.stringify({ ...valid, stream: true, mock }),
      });
      let firstTokenMs = Number.NaN;
      let text = "";
      const decoder = new TextDecoder();
      for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
        text += decoder.decode(bytes, { stream: true });
        if (Number.isNaN(firstTokenMs) && text.includes('"content":"')) firstTokenMs = clock() - startedAt;
      }
      return { status: response.status, firstTokenMs };
    };
    const flood = Array.from({ length: floodStreams }, () => streamOf(keys[0]!, { tokens: 60, tokenDelayMs: 50 }));
    const other: Array<{ status: number; firstTokenMs: number }> = [];
    while (other.length < otherRequests)
      other.push(...(await Promise.all([streamOf(keys[1]!, { tokens: 5 }), streamOf(keys[1]!, { tokens: 5 })])));
    const floodAnswers = await Promise.all(flood);
    const otherStatuses: Record<string, number> = {};
    for (const answer of other) otherStatuses[answer.status] = (otherStatuses[answer.status] ?? 0) + 1;
    return {
      slots,
      floodStreams,
      floodAccepted: floodAnswers.filter((answer) => answer.status === 200).length,
      floodRefused: floodAnswers.filter((answer) => answer.status === 429).length,
      otherRequests: other.length,
      otherStatuses,
      otherFirstTokenMs: summary(other.filter((answer) => answer.status === 200).map((answer) => answer.firstTokenMs)),
    };
  } finally {
    await stack.stop();
  }
}
