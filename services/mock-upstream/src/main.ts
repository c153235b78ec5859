// Command-line entry point: runs the mock upstream from environment variables
// (see README.md) for demos, benchmarks and manual testing.

import { loadConfig, type MockConfig } from "./config.ts";
import { createMockUpstream } from "./server.ts";

function log(level: "info" | "error", msg: string, fields: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ level, service: "mock-upstream", msg, ...fields })}\n`;
}

async function main(): Promise<void> {
  let config: MockConfig;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(log("error", "invalid configuration", { error: (error as Error).message }));
    process.exitCode = 1;
    return;
  }
  const mock = createMockUpstream({
    host: config.host,
    tokens: config.tokens,
    firstTokenDelayMs: config.firstTokenDelayMs,
    tokenDelayMs: config.tokenDelayMs,
    recentLimit: config.recentLimit,
  });
  const { port, url } = await mock.listen(config.port);
  process.stdout.write(log("info", "listening", { port, url }));

  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1); // second signal: give up waiting
    stopping = true;
    mock.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(log("error", "close failed", { error: String(error) }));
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    log("error", "failed to start", { error: error instanceof Error ? error.message : String(error) }),
  );
  process.exit(1);
});
