// Counts the Redis commands a phase of the benchmark causes, with MONITOR: each command a client
// sends is one round trip (pipelined commands still count one each); commands that Lua scripts run
// inside Redis are counted apart. Connections are named by CLIENT LIST (each Switchboard
// connection sets a name saying whose it is), so the counts say who pays which round trip.
import { connect } from "node:net";
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
  const lines = await monitorDuring(redisUrl, phase, () => admin.echo(endMarker));
  const names = new Map<string, string>();
  for (const line of String(await admin.client("LIST")).split("\n")) {
    const address = /addr=(\S+)/.exec(line)?.[1];
    const name = /name=(\S*)/.exec(line)?.[1];
    if (address) names.set(address, connectionRole(name ?? ""));
  }
  admin.disconnect();
  const counts: RoundTripCounts = { sent: {}, inScripts: {}, totalSent: 0 };
  for (const { args, source } of lines) {
    const command = (args[0] ?? "?").toLowerCase();
    if (source === "lua") {
      counts.inScripts[command] = (counts.inScripts[command] ?? 0) + 1;
      continue;
    }
    if (command === "ping" || command === "client" || command === "echo") continue;
    const key = `${names.get(source) ?? "other"}\t${command}`;
    counts.sent[key] = (counts.sent[key] ?? 0) + 1;
    counts.totalSent++;
  }
  return counts;
}

/** "switchboard:ingress-AbC:command" -> "ingress:command"; the bench's own clients are "unnamed". */
function connectionRole(name: string): string {
  const match = /^switchboard:(ingress|worker)-[^:]+:(\w+)$/.exec(name);
  if (match) return `${match[1]}:${match[2]}`;
  // BullMQ names the blocking connection it duplicates `<prefix>:<queue, base64>:w:<worker name>`.
  if (/:w:worker-/.test(name)) return "worker:queue-blocking";
  return name === "" ? "unnamed" : name.replace(/:[A-Za-z0-9+/=]{8,}$/, "");
}

/**
 * MONITOR on a raw socket (ioredis's monitor mode mixes monitor lines into its reply queue under
 * load). Each line reads `+<time> [<db> <client address or "lua">] "<command>" "<arg>" …`.
 */
const endMarker = "switchboard-bench-monitor-end";

async function monitorDuring(
  redisUrl: string,
  phase: () => Promise<void>,
  markEnd: () => Promise<unknown>,
): Promise<Array<{ args: string[]; source: string }>> {
  const url = new URL(redisUrl);
  const socket = connect(Number(url.port || 6379), url.hostname);
  socket.setEncoding("utf8");
  const lines: Array<{ args: string[]; source: string }> = [];
  let buffer = "";
  let started!: () => void;
  let ended!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const end = new Promise<void>((resolve) => (ended = resolve));
  socket.on("data", (text: string) => {
    buffer += text;
    const complete = buffer.split("\r\n");
    buffer = complete.pop() ?? "";
    for (const line of complete) {
      if (line === "+OK") started();
      if (line.endsWith(`"${endMarker}"`)) ended();
      const match = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]*)"/.exec(line);
      if (match) lines.push({ source: match[1] as string, args: [match[2] as string] });
    }
  });
  socket.write(`${url.password ? `AUTH ${decodeURIComponent(url.password)}\r\n` : ""}MONITOR\r\n`);
  await ready;
  await phase();
  // Everything the phase sent reached Redis before this marker; wait until the monitor shows it.
  await markEnd();
  await end;
  socket.destroy();
  return lines;
}
