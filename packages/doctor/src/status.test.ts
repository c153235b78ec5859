// `switchboard status` as a user runs it, against addresses where no Redis answers: it exits 1 and
// says which Redis it tried and why, without printing a password.
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));

async function status(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [cli, "status"], { env: { PATH: process.env.PATH ?? "", ...env } });
    return { code: 0, stderr: "" };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

/** A local port with nothing listening on it: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

describe("switchboard status without a Redis", () => {
  it("says at once that a single Redis refused the connection, naming it without its password", async () => {
    const port = await closedPort();
    const { code, stderr } = await status({ REDIS_URL: `redis://:s3cret-password@127.0.0.1:${port}` });
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot read redis://***@127.0.0.1:${port}: `);
    // The refusal itself, not the end of the 5 s wait that a Cluster or the sentinels get.
    expect(stderr).toContain("connection refused: is Redis running at that address?");
    expect(stderr).not.toContain("no connection within");
    expect(stderr).not.toContain("s3cret-password");
  });

  it("exits 1 on a bad configuration, saying what to fix", async () => {
    const { code, stderr } = await status({ REDIS_URL: "not a url" });
    expect(code).toBe(1);
    expect(stderr).toContain("REDIS_URL");
  });
});
