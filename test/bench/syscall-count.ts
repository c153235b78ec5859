// System calls made by running processes, counted by Linux's `perf stat` on the kernel's syscall
// tracepoints. On these virtual machines a loopback system call costs more than most of the work
// between two of them. Unlike CPU time, the count does not drift with the machine's speed: at a
// load that leaves the processes room, the same load gives the same count within a few per cent,
// run after run. Under saturation it falls as a process that is behind finds several tokens in one
// read and writes them in one write, and how far it falls moves with the saturation: then the
// count measures how far behind the process is, not what it costs (docs/performance.md). Needs
// the `perf` tool and permission to trace another process (root, or a kernel.perf_event_paranoid
// that allows tracepoints); where either is missing, `syscallCounting()` says why and the
// benchmark goes on without counts.
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";

/** The kinds counted, besides the total: the socket reads and writes and the event loop's waits. */
const kinds = {
  read: ["read", "recvfrom", "readv"],
  write: ["write", "writev", "sendto", "sendmsg"],
  wait: ["epoll_wait", "epoll_pwait"],
  futex: ["futex"],
} as const;
type SyscallKind = keyof typeof kinds | "all";
export type SyscallCounts = Record<SyscallKind, number>;

const tracepoints = [
  "raw_syscalls:sys_enter",
  ...Object.values(kinds)
    .flat()
    .map((name) => `syscalls:sys_enter_${name}`),
];

/** Whether system calls can be counted here; when not, the reason. */
export function syscallCounting(): { available: true } | { available: false; reason: string } {
  const probe = spawnSync("perf", ["stat", "-x,", "-e", tracepoints.join(","), "--", "true"], {
    encoding: "utf8",
  });
  if (probe.error) return { available: false, reason: `perf is not installed (${probe.error.message})` };
  if (probe.status !== 0 || /not supported|<not counted>|Permission|Error/i.test(probe.stderr))
    return {
      available: false,
      reason: `perf cannot count syscall tracepoints here: ${probe.stderr.trim().split("\n")[0]}`,
    };
  return { available: true };
}

/**
 * The system calls of every thread of each process while `phase` runs. perf starts with its
 * counters off and turns them on and off when told on its control descriptor, answering each
 * command once done, so the count covers the phase and nothing else.
 */
export async function countSyscallsDuring<T>(
  pids: readonly number[],
  phase: () => Promise<T>,
): Promise<{ result: T; counts: SyscallCounts[] }> {
  const counters = pids.map((pid) => {
    const child = spawn(
      "perf",
      ["stat", "-x,", "-D", "-1", "--control", "fd:3,4", "-e", tracepoints.join(","), "-p", String(pid)],
      { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
    );
    let text = "";
    child.stderr?.on("data", (bytes: Buffer) => (text += bytes.toString()));
    const control = child.stdio[3] as Writable;
    const acks = child.stdio[4] as Readable;
    const command = async (name: "enable" | "disable") => {
      const acked = once(acks, "data");
      control.write(`${name}\n`);
      await acked;
    };
    const stop = async () => {
      const exited = once(child, "exit");
      child.kill("SIGINT");
      await exited;
      return parse(text);
    };
    return { command, stop };
  });
  try {
    await Promise.all(counters.map((counter) => counter.command("enable")));
    const result = await phase();
    await Promise.all(counters.map((counter) => counter.command("disable")));
    return { result, counts: await Promise.all(counters.map((counter) => counter.stop())) };
  } catch (error) {
    await Promise.all(counters.map((counter) => counter.stop()));
    throw error;
  }
}

/** perf's CSV lines are `count,unit,event,...`. */
function parse(text: string): SyscallCounts {
  const byEvent = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [count, , event] = line.split(",");
    if (event && count !== undefined && /^\d+$/.test(count)) byEvent.set(event, Number(count));
  }
  const counts: SyscallCounts = {
    all: byEvent.get("raw_syscalls:sys_enter") ?? Number.NaN,
    read: 0,
    write: 0,
    wait: 0,
    futex: 0,
  };
  for (const [kind, names] of Object.entries(kinds) as Array<[keyof typeof kinds, readonly string[]]>)
    counts[kind] = names.reduce((sum, name) => sum + (byEvent.get(`syscalls:sys_enter_${name}`) ?? 0), 0);
  return counts;
}
