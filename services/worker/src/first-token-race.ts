// The race of a hedged step: a call, and after the hedge delay (if the handler starts one) a second
// call beside it. The first to send a useful token (or to end) wins and every other call is closed
// at once, before anything of it is relayed. A call that fails while another still runs leaves the
// race; when none is left, the later target's failure is the step's. What starting a hedge means
// (the budget, telemetry, the target) and what a failure means stay with the handler (hooks).
import { setTimeout as sleep } from "node:timers/promises";
import type { GatewayError } from "@switchboard/protocol";
import type { FirstChunk, UpstreamAttempt } from "./upstream-attempt.ts";

export interface RaceHooks {
  /** The hedge delay passed with no useful token: may a hedge start (budget, a usable target)? */
  admitHedge(): Promise<boolean>;
  /** Start the admitted hedge (called only while the race is still open). */
  openHedge(): UpstreamAttempt | undefined;
  /** A call failed before its first useful token, while the job still runs: note it, name the error. */
  failed(attempt: UpstreamAttempt, caught: unknown): GatewayError;
  /** Whether the job's stop signal fired (then every failure is that stop, not the call's). */
  stopped(): boolean;
}

export type RaceResult =
  /** The winner's head holds its first useful chunk; the losers were closed already. */
  | { kind: "won"; winner: UpstreamAttempt; losers: UpstreamAttempt[]; hedged: boolean }
  | { kind: "failed"; error: GatewayError; attempt: UpstreamAttempt }
  /** The job stopped; these calls were still running (and are closed by the stop). */
  | { kind: "stopped"; attempts: UpstreamAttempt[] };

type RaceEvent =
  | { kind: "first"; attempt: UpstreamAttempt; first: FirstChunk }
  | { kind: "failed"; attempt: UpstreamAttempt; caught: unknown }
  | { kind: "hedge"; admitted: boolean };

export async function raceFirstToken(
  primary: UpstreamAttempt,
  hedgeDelayMs: number,
  hooks: RaceHooks,
): Promise<RaceResult> {
  const racing = new Map<UpstreamAttempt, Promise<RaceEvent>>();
  const watch = (attempt: UpstreamAttempt) =>
    racing.set(
      attempt,
      attempt.first().then(
        (first): RaceEvent => ({ kind: "first", attempt, first }),
        (caught: unknown): RaceEvent => ({ kind: "failed", attempt, caught }),
      ),
    );
  watch(primary);
  const timer = new AbortController();
  let hedgeDue: Promise<RaceEvent> | undefined = sleep(hedgeDelayMs, undefined, { signal: timer.signal }).then(
    async (): Promise<RaceEvent> => ({ kind: "hedge", admitted: await hooks.admitHedge() }),
    (): RaceEvent => ({ kind: "hedge", admitted: false }),
  );
  let hedged = false;
  let failed: Extract<RaceResult, { kind: "failed" }> | undefined;
  try {
    for (;;) {
      const event = await Promise.race([...racing.values(), ...(hedgeDue ? [hedgeDue] : [])]);
      if (event.kind === "hedge") {
        hedgeDue = undefined;
        const hedge = event.admitted ? hooks.openHedge() : undefined;
        if (!hedge) continue;
        hedged = true;
        watch(hedge);
        continue;
      }
      racing.delete(event.attempt);
      if (event.kind === "failed") {
        if (hooks.stopped()) return { kind: "stopped", attempts: [event.attempt, ...racing.keys()] };
        const error = hooks.failed(event.attempt, event.caught);
        // The later target's failure decides what comes next: the earlier one was already passed over.
        if (!failed || event.attempt.targetIndex >= failed.attempt.targetIndex)
          failed = { kind: "failed", error, attempt: event.attempt };
        if (racing.size > 0) continue;
        return failed;
      }
      timer.abort();
      const losers = [...racing.keys()];
      for (const loser of losers) loser.abort("hedge-lost");
      racing.clear();
      return { kind: "won", winner: event.attempt, losers, hedged };
    }
  } finally {
    timer.abort();
    for (const attempt of racing.keys()) attempt.abort("finished");
  }
}
