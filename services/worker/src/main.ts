// Worker process entry point: `node services/worker/src/main.ts`.
// Telemetry starts first: OTEL_* variables decide whether spans are exported (see README).
import { abandonStandardOutput, startTelemetry } from "@switchboard/telemetry";
import { loadWorkerConfig } from "./config.ts";
import { startWorker } from "./worker-app.ts";

try {
  const telemetry = startTelemetry("switchboard-worker");
  const app = await startWorker(loadWorkerConfig(process.env));
  let stopping = false;
  // parentGone: stopped because `npm start`, which reads this process's stdout, died.
  const stop = (parentGone = false) => {
    if (stopping) return;
    stopping = true;
    app
      .close()
      .then(() => telemetry.shutdown())
      .then(
        () => {
          if (parentGone) abandonStandardOutput();
          process.exit(0);
        },
        () => process.exit(1),
      );
  };
  process.on("SIGTERM", () => stop());
  process.on("SIGINT", () => stop());
  // Started by `npm start` (scripts/start.ts), which holds an IPC channel to its children: the
  // channel closes when that parent dies, even by SIGKILL, and the worker stops with it.
  if (process.channel) {
    process.channel.unref();
    process.on("disconnect", () => stop(true));
  }
} catch (error) {
  process.stderr.write(`worker: ${(error as Error).message}\n`);
  process.exit(1);
}
