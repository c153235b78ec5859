// Queue wait as Redis saw it: BullMQ appends an "added" and an "active" event for every job to the
// queue's event stream, and a stream entry's id starts with Redis's clock in ms. Pairing the two per
// job gives the time each job waited for a worker (1 ms resolution), without touching the code path.
import { Redis } from "ioredis";
import { relayKeys } from "@switchboard/relay";

export async function readQueueWaits(redisUrl: string, prefix: string, sinceMs: number): Promise<number[]> {
  const client = new Redis(redisUrl);
  try {
    const entries = (await client.xrange(
      `${relayKeys(prefix).queuePrefix}:chat:events`,
      String(sinceMs),
      "+",
    )) as Array<[string, string[]]>;
    const addedAt = new Map<string, number>();
    const waits: number[] = [];
    for (const [id, fields] of entries) {
      const event = fields[fields.indexOf("event") + 1];
      const jobId = fields[fields.indexOf("jobId") + 1];
      if (jobId === undefined) continue;
      const at = Number(id.split("-")[0]);
      if (event === "added") addedAt.set(jobId, at);
      else if (event === "active" && addedAt.has(jobId)) waits.push(at - (addedAt.get(jobId) as number));
    }
    return waits;
  } finally {
    client.disconnect();
  }
}
