// Bodies whose cost is not in their bytes: a 9.9 MB body of three million empty objects (about
// 200 MB of heap once parsed), a body declared in another charset (whose bytes the pre-parse guard
// would misread), a corrupt gzip body, and a body over its route's own size limit. Each is refused
// at once with a 4xx, and the ingress's peak memory hardly moves.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack.ts";

let stack: Stack;
/** The maxBodyBytes of the route "small-sim". */
const smallRouteLimit = 4096;

beforeAll(async () => {
  stack = await startStack("hostile-bodies", {
    env: { SIMULATED_TOKEN_DELAY_MS: "1", SIMULATED_FIRST_TOKEN_DELAY_MS: "1" },
    routes: {
      providers: { simulated: { type: "simulated" } },
      routes: {
        "switchboard-sim": { provider: "simulated" },
        "small-sim": { provider: "simulated", maxBodyBytes: smallRouteLimit },
      },
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const valid = { model: "switchboard-sim", messages: [{ role: "user", content: "Hi" }] };

/** Peak resident memory of a process so far, in MB (VmHWM). */
function peakMb(pid: number | undefined): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack.urls[0]}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
}

describe("bodies that cost more than their bytes", () => {
  it("refuses a 9.9 MB body of 3.3 million empty objects with 413 before parsing it, four at once", async () => {
    const prefix = JSON.stringify(valid).slice(0, -1);
    const objects = 3_300_000;
    const body = Buffer.from(`${prefix},"x":[${"{},".repeat(objects - 1)}{}]}`);
    expect(body.length).toBeGreaterThan(9_900_000);
    expect(body.length).toBeLessThan(10 * 1024 * 1024);
    const ingressPid = stack.ingresses[0]!.child.pid;
    // The ingress as ordinary traffic leaves it.
    expect((await post(JSON.stringify(valid))).status).toBe(200);
    const before = peakMb(ingressPid);
    const answers = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const response = await post(body);
        return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code };
      }),
    );
    expect(answers).toEqual(Array.from({ length: 4 }, () => ({ status: 413, code: "request_too_large" })));
    // Parsed, each body would have cost about 200 MB; read and counted, about its bytes.
    expect(peakMb(ingressPid) - before).toBeLessThan(120);
    expect((await post(JSON.stringify(valid))).status).toBe(200);
  }, 60_000);

  it("refuses a body in a charset other than UTF-8 with 415, before reading it", async () => {
    for (const charset of ["utf-16le", "UTF-16", "latin1", "utf-32"]) {
      const response = await post(Buffer.from(JSON.stringify(valid), "utf16le"), {
        "content-type": `application/json; charset=${charset}`,
      });
      expect(response.status, charset).toBe(415);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type");
    }
    const utf8 = await post(JSON.stringify(valid), { "content-type": 'application/json; charset="UTF-8"' });
    expect(utf8.status).toBe(200);
    await utf8.text();
  });

  it("answers a corrupt gzip body with 400, and reads a sound one", async () => {
    const sound = gzipSync(JSON.stringify(valid));
    const corrupt = Buffer.concat([sound.subarray(0, 12), Buffer.from("this is not deflate data at all")]);
    for (const encoding of ["gzip", "deflate", "br"]) {
      const response = await post(corrupt, { "content-encoding": encoding });
      expect(response.status, encoding).toBe(400);
      const error = ((await response.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("invalid_request");
      expect(error.message).toMatch(/decompressed/);
    }
    const ok = await post(sound, { "content-encoding": "gzip" });
    expect(ok.status).toBe(200);
    await ok.text();
  });

  it("holds a route to its maxBodyBytes, counted after decoding: 413 before anything is queued", async () => {
    const small = { ...valid, model: "small-sim" };
    const ok = await post(JSON.stringify(small));
    expect(ok.status).toBe(200);
    await ok.text();
    const large = { ...small, messages: [{ role: "user", content: "x".repeat(smallRouteLimit) }] };
    for (const [body, headers] of [
      [JSON.stringify(large), {}],
      [gzipSync(JSON.stringify(large)), { "content-encoding": "gzip" }],
    ] as const) {
      const refused = await post(body, headers);
      expect(refused.status).toBe(413);
      const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("request_too_large");
      expect(error.message).toContain(String(smallRouteLimit));
    }
    // The same body on a route without a limit of its own is answered.
    const elsewhere = await post(JSON.stringify({ ...large, model: "switchboard-sim" }));
    expect(elsewhere.status).toBe(200);
    await elsewhere.text();
  });

  it("is still up after all of it", () => {
    expect(stack.ingresses[0]!.child.exitCode).toBeNull();
  });
});
