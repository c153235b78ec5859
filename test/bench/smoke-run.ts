// What the benchmarks' smoke checks share: run a benchmark script as its own process with the
// environment given (and PATH), and an npm that cannot install the peer gateway (offline, with an
// empty cache), as on a machine without network.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";

/** Run the script to its end; its exit code and everything it wrote to stdout and stderr. */
export async function runBenchScript(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (text: Buffer) => (output += text.toString()));
  child.stderr.on("data", (text: Buffer) => (output += text.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}

/** npm settings under `directory` with which the benchmark's install of Portkey fails at once. */
export function offlinePortkey(directory: string): Record<string, string> {
  return {
    BENCH_PORTKEY_DIR: join(directory, "portkey"),
    npm_config_offline: "true",
    npm_config_cache: join(directory, "npm-cache"),
  };
}
