// `switchboard status`: the upstream targets' shared health as the workers keep it in Redis (the
// hashes `<prefix>:health:{<provider>/<model>}` of services/worker/src/target-health.ts): per
// target, the breaker's state, the first-token estimate, the error rate and the consecutive
// failures. Reads REDIS_URL and REDIS_KEY_PREFIX as the services do; writes nothing.
import { Redis } from "ioredis";

interface TargetStatus {
  target: string;
  state: "closed" | "open" | "half-open";
  firstTokenMs: number | undefined;
  errorRate: number;
  failures: number;
  /** Seconds until an open breaker lets a probe through. */
  opensInSeconds: number | undefined;
}

/** Every target with a health hash under the prefix, sorted by name. */
async function readTargetStatus(redisUrl: string, prefix: string): Promise<TargetStatus[]> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on("error", () => {});
  await redis.connect();
  try {
    const pattern = `${prefix}:health:{*}`;
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
      cursor = next;
      keys.push(...found);
    } while (cursor !== "0");
    const hashes = await Promise.all(keys.map((key) => redis.hgetall(key)));
    const now = Date.now();
    return keys
      .map((key, index) => {
        const hash = hashes[index] ?? {};
        const openUntil = Number(hash.openUntil ?? 0);
        const state: TargetStatus["state"] = hash.state !== "open" ? "closed" : openUntil > now ? "open" : "half-open";
        return {
          target: key.slice(`${prefix}:health:{`.length, -1),
          state,
          firstTokenMs: hash.firstTokenMs === undefined ? undefined : Number(hash.firstTokenMs),
          errorRate: Number(hash.errorRate ?? 0),
          failures: Number(hash.failures ?? 0),
          opensInSeconds: state === "open" ? Math.ceil((openUntil - now) / 1000) : undefined,
        };
      })
      .sort((a, b) => a.target.localeCompare(b.target));
  } finally {
    redis.disconnect();
  }
}

function formatTargetStatus(targets: TargetStatus[]): string {
  if (targets.length === 0) return "No target health recorded yet (routes with `health` record it as they are used).";
  const rows = targets.map((target) => [
    target.target,
    target.state + (target.opensInSeconds === undefined ? "" : ` (probe in ${target.opensInSeconds} s)`),
    target.firstTokenMs === undefined ? "—" : `${Math.round(target.firstTokenMs)} ms`,
    `${(target.errorRate * 100).toFixed(1)} %`,
    String(target.failures),
  ]);
  const header = ["target", "breaker", "first token (EWMA)", "error rate (EWMA)", "consecutive failures"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** The subcommand: prints the table; 0, or 1 when Redis cannot be read. */
export async function runStatus(env: NodeJS.ProcessEnv): Promise<number> {
  const redisUrl = env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const prefix = env.REDIS_KEY_PREFIX ?? "switchboard";
  try {
    process.stdout.write(`${formatTargetStatus(await readTargetStatus(redisUrl, prefix))}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`switchboard status: cannot read ${redisUrl}: ${(error as Error).message}\n`);
    return 1;
  }
}
