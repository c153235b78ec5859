// Counts the Redis commands a phase of the benchmark causes, with MONITOR: each command a client
// sends is one round trip (pipelined commands still count one each); commands that Lua scripts run
// inside Redis are counted apart. Connections are named by CLIENT LIST (each Switchboard
// connection sets a name saying whose it is), so the counts say who pays which round trip.
import { Redis } from "ioredis";

export interface RoundTripCounts {
  /** "<connection>\t<command>" -> count, for commands sent by clients. */
  sent: Record<string, number>;
  /** Commands run inside Lua scripts, by name. */
  inScripts: Record<string, number>;
  totalSent: number;
}

export async function countRoundTrips(redisUrl: string, phase: () => Promise<void>): Promise<RoundTripCounts> {
  const admin = new Redis(redisUrl);
  const monitorClient = new Redis(redisUrl);
  const monitor = await monitorClient.monitor();
  const lines: Array<{ args: string[]; source: string }> = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => lines.push({ args, source }));
  await phase();
  // Let the last commands of the phase arrive on the monitor connection.
  await admin.ping();
  await new Promise((resolve) => setImmediate(resolve));
  const names = new Map<string, string>();
  for (const line of String(await admin.client("LIST")).split("\n")) {
    const address = /addr=(\S+)/.exec(line)?.[1];
    const name = /name=(\S*)/.exec(line)?.[1];
    if (address) names.set(address, connectionRole(name ?? ""));
  }
  monitor.disconnect();
  monitorClient.disconnect();
  admin.disconnect();
  const counts: RoundTripCounts = { sent: {}, inScripts: {}, totalSent: 0 };
  for (const { args, source } of lines) {
    const command = (args[0] ?? "?").toLowerCase();
    if (source === "lua") {
      counts.inScripts[command] = (counts.inScripts[command] ?? 0) + 1;
      continue;
    }
    if (command === "ping" || command === "client") continue;
    const key = `${names.get(source) ?? "other"}\t${command}`;
    counts.sent[key] = (counts.sent[key] ?? 0) + 1;
    counts.totalSent++;
  }
  return counts;
}

/** "switchboard:ingress-AbC:command" -> "ingress:command"; BullMQ's own connections keep their names. */
function connectionRole(name: string): string {
  const match = /^switchboard:(ingress|worker)-[^:]+:(\w+)$/.exec(name);
  if (match) return `${match[1]}:${match[2]}`;
  return name === "" ? "unnamed" : name.replace(/:[A-Za-z0-9+/=]{8,}$/, "");
}
