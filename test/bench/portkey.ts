// A real peer gateway for `npm run bench`: the open-source Portkey gateway (@portkey-ai/gateway), a
// Node.js (Hono) gateway that proxies each request straight to the provider in one process. The
// benchmark installs it itself, into a folder of its own (node_modules/.cache/switchboard-bench-portkey,
// not a project dependency), and starts it bound to 127.0.0.1 in front of the same mocks as the other
// targets. What its source (build/start-server.js of 1.15.2) says, and this module relies on:
// - it listens on `--port=<n>` with no host (every interface): a preloaded module (loopback.mjs,
//   written next to the install) makes a listen without a host bind 127.0.0.1 only;
// - `x-portkey-provider: openai` with `x-portkey-custom-host: <base URL>` sends the request to that
//   OpenAI-compatible upstream; 127.0.0.1 is a trusted custom host by default (TRUSTED_CUSTOM_HOSTS);
// - it drops request-body fields the OpenAI API does not have (the mock's `mock` options), so each
//   load shape gets a mock of its own, chosen by the custom host;
// - it waits 25 ms before relaying a stream's first chunk (a fixed `setTimeout(…, 25)` in its SSE
//   reader): its added time to first token includes those 25 ms;
// - with @hono/node-server 1.19 (what its range resolves to today) every streamed request fails
//   ("TypeError: immutable" on the upstream's Headers); 1.14.1, pinned by an npm override, works;
// - REDIS_CONNECTION_STRING would give it a Redis cache: it is started with a minimal environment
//   (PATH, NODE_ENV=production, which also leaves out its web UI and log stream).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@switchboard/testing";
import type { BenchProcess } from "./bench-stack.ts";

export const portkeyVersion = "1.15.2";
const honoNodeServerVersion = "1.14.1";
const repositoryRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const installDirectory =
  process.env.BENCH_PORTKEY_DIR ?? join(repositoryRoot, "node_modules", ".cache", "switchboard-bench-portkey");
const entry = join(installDirectory, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");

const loopbackPreload = `// Written by test/bench/portkey.ts: a listen() without a host binds 127.0.0.1, not every interface.
import { Server } from "node:net";
const listen = Server.prototype.listen;
Server.prototype.listen = function (port, host, ...rest) {
  if (typeof port === "number" && (host === undefined || typeof host === "function"))
    return listen.call(this, port, "127.0.0.1", ...(host === undefined ? [] : [host]), ...rest);
  return listen.call(this, port, host, ...rest);
};
`;

/** Installs the gateway (once; later runs reuse the folder). Throws with npm's output when it cannot. */
async function install(): Promise<void> {
  if (existsSync(entry)) return;
  mkdirSync(installDirectory, { recursive: true });
  writeFileSync(
    join(installDirectory, "package.json"),
    JSON.stringify({
      name: "switchboard-bench-portkey",
      private: true,
      dependencies: { "@portkey-ai/gateway": portkeyVersion },
      overrides: { "@hono/node-server": honoNodeServerVersion },
    }),
  );
  // --ignore-scripts: its postinstall (patch-package) has nothing to patch in the published build.
  const npm = spawn("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save"], {
    cwd: installDirectory,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  npm.stdout.on("data", (text: Buffer) => (output += text.toString()));
  npm.stderr.on("data", (text: Buffer) => (output += text.toString()));
  const [code] = (await Promise.race([
    once(npm, "exit"),
    once(npm, "error").then(([error]) => Promise.reject(error)),
  ])) as [number | null];
  if (code !== 0 || !existsSync(entry)) throw new Error(`npm install of @portkey-ai/gateway failed: ${output.trim()}`);
}

export interface PortkeyGateway extends BenchProcess {
  /** The headers that send a request through it to the OpenAI-compatible upstream at `upstreamUrl`. */
  headersFor(upstreamUrl: string): Record<string, string>;
}

/** Installs (if needed) and starts Portkey on 127.0.0.1; throws when either fails. */
export async function startPortkey(): Promise<PortkeyGateway> {
  await install();
  const preload = join(installDirectory, "loopback.mjs");
  writeFileSync(preload, loopbackPreload);
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", preload, entry, `--port=${port}`, "--headless"], {
    cwd: installDirectory,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr!.on("data", (text: Buffer) => (output += text.toString()));
  try {
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Portkey did not say it was ready within 30 s: ${output.slice(-500)}`)),
        30_000,
      );
      child.stdout!.on("data", (text: Buffer) => {
        output += text.toString();
        if (output.includes("Ready for connections")) {
          clearTimeout(timer);
          resolveReady();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Portkey exited (${code}) before it was ready: ${output.slice(-500)}`));
      });
      child.once("error", reject);
    });
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  // After start, keep draining its output so a full pipe never blocks it.
  child.stdout!.removeAllListeners("data").resume();
  child.stderr!.removeAllListeners("data").resume();
  const url = `http://127.0.0.1:${port}/v1`;
  return {
    label: "portkey",
    pid: child.pid ?? -1,
    url,
    headersFor: (upstreamUrl) => ({
      "x-portkey-provider": "openai",
      "x-portkey-custom-host": upstreamUrl,
      authorization: "Bearer unused",
    }),
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  await once(child, "exit");
}
