// Liveness for a process with no HTTP server: while its event loop runs, the worker rewrites a small
// file every interval, and the container health check (scripts/healthcheck.ts; Docker HEALTHCHECK,
// Kubernetes exec probe) calls the worker dead when the file grows stale.
import { writeFile } from "node:fs/promises";

export function startHealthFile(path: string, intervalMs: number, onError: (error: unknown) => void): () => void {
  const touch = () => writeFile(path, String(Date.now())).catch(onError);
  void touch();
  const timer = setInterval(touch, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
