// One line of the doctor's report.
type CheckStatus = "pass" | "fail" | "skip";

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** What was observed (on pass: a short confirmation or a measurement). */
  detail: string;
  /** How to fix it, shown for failures. */
  fix: string;
  /** On failure: the x-request-id the server gave the failing response, to find it in its logs. */
  requestId?: string;
}

export function check(
  id: string,
  title: string,
  fix: string,
  problems: readonly string[],
  passDetail: string,
  requestId?: string,
): CheckResult {
  return problems.length === 0
    ? { id, title, status: "pass", detail: passDetail, fix }
    : {
        id,
        title,
        status: "fail",
        detail: problems.slice(0, 3).join("; ") + (problems.length > 3 ? ` (and ${problems.length - 3} more)` : ""),
        fix,
        ...(requestId ? { requestId } : {}),
      };
}
