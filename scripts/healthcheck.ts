// Container health check for the Switchboard images (Docker HEALTHCHECK, Kubernetes exec probes).
// Node's slim images have no curl or wget, so this small script asks the service instead:
//   node scripts/healthcheck.ts ingress        GET /health on PORT (default 8080)
//   node scripts/healthcheck.ts mock-upstream  GET /health on MOCK_PORT (default 4010)
//   node scripts/healthcheck.ts worker         WORKER_HEALTH_FILE rewritten within the last 30 s
// Exit 0: healthy; 1: not.
import { readFile } from "node:fs/promises";

const service = process.argv[2];
/** A worker whose event loop has not ticked for this long is stuck. */
const workerMaxAgeMs = 30_000;

async function httpHealth(port: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
  if (response.status !== 200) throw new Error(`/health answered ${response.status}`);
}

async function workerHealth(): Promise<void> {
  const file = process.env.WORKER_HEALTH_FILE;
  if (!file) throw new Error("WORKER_HEALTH_FILE is not set");
  const ageMs = Date.now() - Number(await readFile(file, "utf8"));
  if (!(ageMs <= workerMaxAgeMs)) throw new Error(`the worker's health file is ${ageMs} ms old`);
}

try {
  if (service === "ingress") await httpHealth(process.env.PORT || "8080");
  else if (service === "mock-upstream") await httpHealth(process.env.MOCK_PORT || "4010");
  else if (service === "worker") await workerHealth();
  else throw new Error(`usage: healthcheck.ts ingress|worker|mock-upstream (got ${service})`);
} catch (error) {
  process.stderr.write(`unhealthy: ${(error as Error).message}\n`);
  process.exit(1);
}
