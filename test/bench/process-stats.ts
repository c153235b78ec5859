// CPU time and resident memory of child processes, read from /proc (Linux). CPU is in clock ticks
// of 10 ms, so a phase must run long enough (seconds) for per-request figures to mean anything.
import { readFileSync } from "node:fs";

const ticksPerSecond = 100;
const pageBytes = 4096;

/** User + system CPU time of a process so far, in ms; NaN where /proc is not available. */
export function cpuTimeMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process, in bytes; NaN where /proc is not available. */
export function rssBytes(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * pageBytes;
  } catch {
    return Number.NaN;
  }
}

/** Samples the RSS of some processes every intervalMs; stop() returns each one's peak. */
export function sampleRss(pids: readonly number[], intervalMs = 50): { stop(): number[] } {
  const peaks = pids.map((pid) => rssBytes(pid));
  const timer = setInterval(
    () =>
      pids.forEach((pid, index) => {
        peaks[index] = Math.max(peaks[index] ?? 0, rssBytes(pid));
      }),
    intervalMs,
  );
  return {
    stop() {
      clearInterval(timer);
      return peaks;
    },
  };
}
