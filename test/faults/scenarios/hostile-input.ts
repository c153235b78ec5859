// Acceptance 8: thousands of malformed and hostile bodies. Every one must be answered with a 4xx
// (an OpenAI error body where the gateway answers itself; Node's bare 408 for a slow sender), no
// process may crash, and memory after must be about memory before.
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { residentMb, startFaultStack } from "../support/fault-stack.ts";
import { countBy } from "../support/figures.ts";

export interface HostileFigures {
  bodies: number;
  byKind: Record<string, number>;
  statuses: Record<string, number>;
  /** Answers outside 400-499 (must be 0). */
  not4xx: number;
  /** Which kinds got a non-4xx answer, and which status (empty when all is well). */
  not4xxByKind: Record<string, number>;
  notOpenAIShaped: number;
  slowSenders: number;
  slowSenderStatuses: Record<string, number>;
  crashes: number;
  /** Resident memory after warm-up, after half the bodies, and after all of them. */
  ingressMemoryMb: { before: number; half: number; after: number };
  workerMemoryMb: { before: number; half: number; after: number };
}

const bodyLimitBytes = 1024 * 1024;

/** A deterministic pseudo-random generator, so a failing body can be found again. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomJson(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() * 1e6 - 5e5;
    case 2:
      return random() < 0.5;
    case 3:
      return "x".repeat(Math.floor(random() * 50));
    case 4:
      return String.fromCharCode(...Array.from({ length: 8 }, () => Math.floor(random() * 0xd7ff)));
    case 5:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let index = Math.floor(random() * 5); index > 0; index--)
        object[["model", "messages", "stream", "role", "content", "tools", `k${index}`][Math.floor(random() * 7)]!] =
          randomJson(random, depth + 1);
      return object;
    }
  }
}

const valid = { model: "mock-model", messages: [{ role: "user", content: "Hello" }] };

/** Body kinds; each is invalid by construction (a valid request is not hostile). */
const kinds: Array<{
  name: string;
  make: (random: () => number) => string | Buffer;
  headers?: Record<string, string>;
}> = [
  {
    name: "random JSON",
    make: (random) => {
      const value = randomJson(random, 0);
      // A random object may by chance be a valid request: break it if so.
      if (typeof value === "object" && value !== null && !Array.isArray(value))
        (value as Record<string, unknown>).messages = 42;
      return JSON.stringify(value);
    },
  },
  {
    name: "not JSON",
    make: (random) => ["{", '{"model":', "[1,2", "nul", "{'a':1}", "\u0000\u0001", ""][Math.floor(random() * 7)]!,
  },
  {
    name: "wrong types",
    make: (random) => {
      const wrong: Array<Record<string, unknown>> = [
        { ...valid, model: 123 },
        { ...valid, messages: "hello" },
        { ...valid, messages: [] },
        { ...valid, messages: [{ role: 5, content: "x" }] },
        { ...valid, messages: [{ role: "wizard", content: "x" }] },
        { ...valid, stream: "yes" },
        { ...valid, temperature: "hot" },
        { ...valid, n: 3 },
        { ...valid, tools: { type: "function" } },
        { ...valid, stream_options: "x" },
        { ...valid, model: "" },
        { ...valid, max_tokens: 1.5 },
      ];
      return JSON.stringify(wrong[Math.floor(random() * wrong.length)]);
    },
  },
  {
    name: "__proto__ keys",
    make: (random) =>
      [
        `{"model":"mock-model","messages":[{"role":"user","content":"hi"}],"__proto__":{"polluted":true}}`,
        `{"model":"mock-model","messages":[{"role":"user","content":"hi","__proto__":{"isAdmin":true}}]}`,
        `{"__proto__":{"model":"mock-model"},"messages":[{"role":"user","content":"hi"}]}`,
      ][Math.floor(random() * 3)]!,
  },
  {
    name: "deep nesting",
    make: (random) => {
      const depth = 100 + Math.floor(random() * 100_000);
      return random() < 0.5
        ? `${"[".repeat(depth)}${"]".repeat(depth)}`
        : `{"model":"mock-model","messages":[{"role":"user","content":"hi"}],"x":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
    },
  },
  {
    name: "invalid UTF-8",
    make: () =>
      Buffer.concat([
        Buffer.from('{"model":"mock-model","messages":[{"role":"user","content":"'),
        Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1]),
        Buffer.from('"}]}'),
      ]),
  },
  {
    name: "huge string, wrong type",
    make: () => JSON.stringify({ ...valid, messages: [{ role: "user", content: { text: "y".repeat(900_000) } }] }),
  },
  { name: "over the size limit", make: () => JSON.stringify({ ...valid, pad: "z".repeat(bodyLimitBytes + 1000) }) },
  {
    // Within the size limit, over JSON_MAX_VALUES: cheap in bytes, dear once parsed.
    name: "many values",
    make: (random) => {
      const count = 100_001 + Math.floor(random() * 20_000);
      return random() < 0.5
        ? `${JSON.stringify(valid).slice(0, -1)},"x":[${"{},".repeat(count)}{}]}`
        : `${JSON.stringify(valid).slice(0, -1)},"x":[${"0,".repeat(count)}0]}`;
    },
  },
  {
    name: "non-UTF-8 charset",
    make: () => Buffer.from(JSON.stringify(valid), "utf16le"),
    headers: { "content-type": "application/json; charset=utf-16le" },
  },
  {
    name: "corrupt gzip",
    make: (random) =>
      Buffer.concat([gzipSync(JSON.stringify(valid)).subarray(0, 10), Buffer.from(String(random()).repeat(20))]),
    headers: { "content-encoding": "gzip" },
  },
];

/** Kinds that are large are sent less often, so the run measures the gateway, not the loopback. */
const weights = [30, 15, 25, 10, 10, 8, 1, 1, 1, 3, 3];

/** Valid requests sent before the "before" figure. */
const warmUpRequests = 1000;

/** onlyKind: send only bodies of this kind (to find which one costs memory). */
export async function measureHostileInput(
  bodies: number,
  slowSenders: number,
  onlyKind?: string,
): Promise<HostileFigures> {
  const stack = await startFaultStack({
    ingressEnv: { BODY_LIMIT_BYTES: String(bodyLimitBytes), REQUEST_BODY_TIMEOUT_MS: "1000" },
  });
  try {
    const url = `${stack.urls[0]!}/chat/completions`;
    const ingress = stack.ingresses[0]!;
    const worker = stack.workers[0]!;
    const random = generator(4);
    const plan: number[] = [];
    const total = weights.reduce((sum, weight) => sum + weight, 0);
    for (let index = 0; index < bodies; index++) {
      let roll = random() * total;
      let kind = 0;
      while (roll >= weights[kind]!) roll -= weights[kind++]!;
      plan.push(onlyKind === undefined ? kind : kinds.findIndex((entry) => entry.name === onlyKind));
    }
    // "Before" is the ingress as normal traffic leaves it (JIT, pools, a heap sized for real
    // requests), not a cold process: valid requests, streamed and not, 16 at a time.
    await warmUp(url, warmUpRequests);
    const before = { ingress: residentMb(ingress.child.pid), worker: residentMb(worker.child.pid) };
    const answers: Array<{ kind: string; status: number; shaped: boolean }> = [];
    let cursor = 0;
    const sendUntil = (end: number) =>
      Promise.all(
        Array.from({ length: 16 }, async () => {
          while (cursor < end) {
            const kind = kinds[plan[cursor++]!]!;
            const answer = await post(url, kind.make(random), kind.headers);
            answers.push({ kind: kind.name, ...answer });
          }
        }),
      );
    await sendUntil(Math.floor(plan.length / 2));
    const half = { ingress: residentMb(ingress.child.pid), worker: residentMb(worker.child.pid) };
    await sendUntil(plan.length);
    const slow = await Promise.all(Array.from({ length: slowSenders }, () => slowSend(new URL(url))));
    const after = { ingress: residentMb(ingress.child.pid), worker: residentMb(worker.child.pid) };
    const alive = [ingress, worker].filter(
      (service) => service.child.exitCode === null && service.child.signalCode === null,
    ).length;
    return {
      bodies: answers.length,
      byKind: countBy(answers, (answer) => answer.kind),
      statuses: countBy(answers, (answer) => String(answer.status)),
      not4xx: answers.filter((answer) => answer.status < 400 || answer.status > 499).length,
      not4xxByKind: countBy(
        answers.filter((answer) => answer.status < 400 || answer.status > 499),
        (answer) => `${answer.kind}: ${answer.status}`,
      ),
      notOpenAIShaped: answers.filter((answer) => !answer.shaped).length,
      slowSenders,
      slowSenderStatuses: countBy(slow, String),
      crashes: 2 - alive,
      ingressMemoryMb: { before: before.ingress, half: half.ingress, after: after.ingress },
      workerMemoryMb: { before: before.worker, half: half.worker, after: after.worker },
    };
  } finally {
    await stack.stop();
  }
}

/** Valid requests, every other one streamed, 16 at a time; each must be answered 200. */
async function warmUp(url: string, requests: number): Promise<void> {
  let sent = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent < requests) {
        const stream = sent++ % 2 === 0;
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ ...valid, stream }),
        });
        const text = await response.text();
        if (response.status !== 200)
          throw new Error(`warm-up request answered ${response.status}: ${text.slice(0, 200)}`);
      }
    }),
  );
}

async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; shaped: boolean }> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    const text = await response.text();
    let shaped = false;
    try {
      const error = (JSON.parse(text) as { error?: { message?: unknown; type?: unknown; code?: unknown } }).error;
      shaped = typeof error?.message === "string" && typeof error.type === "string" && typeof error.code === "string";
    } catch {
      shaped = false;
    }
    return { status: response.status, shaped };
  } catch {
    // The server closed the connection without an answer: counted as a failure (status 0).
    return { status: 0, shaped: false };
  }
}

/** A client that announces a body and then sends it one byte at a time, slowly: the status it gets. */
function slowSend(url: URL): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = "";
    let timer: NodeJS.Timeout | undefined;
    socket.on("connect", () => {
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{`,
      );
      timer = setInterval(() => socket.write(" "), 200);
    });
    socket.on("data", (data) => (answer += data.toString("latin1")));
    const done = () => {
      clearInterval(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
    };
    socket.on("close", done);
    socket.on("error", () => {});
  });
}
