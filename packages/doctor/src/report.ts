// The doctor's report as a plain-text table, with the fix under each failure.
import type { DoctorReport } from "./run-doctor.ts";

const label = { pass: "PASS", fail: "FAIL", skip: "SKIP" } as const;

export function formatReport(report: DoctorReport): string {
  const rows = report.results.map((result) => [label[result.status], result.title, result.detail]);
  const widths = [4, Math.max(...rows.map((row) => row[1]!.length), 5)];
  const api = report.apiType === "responses" ? ", Responses API" : "";
  const lines = [`switchboard doctor: ${report.baseUrl}${report.model ? ` (model ${report.model}${api})` : ""}`, ""];
  lines.push(`${"".padEnd(widths[0]!)}  ${"check".padEnd(widths[1]!)}  result`);
  for (const [index, row] of rows.entries()) {
    lines.push(`${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]}`);
    const result = report.results[index]!;
    if (result.status !== "fail") continue;
    lines.push(`${"".padEnd(widths[0]! + 2)}fix: ${result.fix}`);
    if (result.requestId) lines.push(`${"".padEnd(widths[0]! + 2)}request id: ${result.requestId}`);
  }
  const failed = report.results.filter((result) => result.status === "fail").length;
  lines.push("", failed === 0 ? "All checks passed." : `${failed} check(s) failed.`);
  return lines.join("\n");
}
