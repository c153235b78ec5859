// A conversation's timeline (the admin endpoint's JSON) as text for a terminal: one block per
// turn, its attempts indented below it.
import type { TimelineTurn } from "@switchboard/relay";

/** The admin endpoint's answer: the turns as the relay's timeline reads them. */
export interface Timeline {
  conversation_id: string;
  turns: TimelineTurn[];
}

export function formatTimeline(timeline: Timeline): string {
  const lines = [`conversation ${timeline.conversation_id}: ${timeline.turns.length} turn(s)`];
  for (const { requestId, turn, attempts } of timeline.turns) {
    lines.push("");
    if (turn) {
      lines.push(
        `${new Date(turn.arrivedAt).toISOString()}  ${requestId}  ${outcomeOf(turn)}  route ${turn.route} (${turn.model})${turn.stream ? " streamed" : ""}`,
      );
      const facts = [
        `queue wait ${ms(turn.queueWaitMs)}`,
        `first token ${ms(turn.firstTokenMs)}`,
        `total ${ms(turn.durationMs)}`,
        ...(turn.traceId ? [`trace ${turn.traceId}`] : []),
      ];
      lines.push(`  ${facts.join("  ")}`);
    } else {
      lines.push(`${requestId}  (still open, or its ingress stopped before it ended)`);
    }
    for (const attempt of attempts) {
      const tokens =
        attempt.inputTokens === undefined
          ? ""
          : `  tokens ${attempt.inputTokens} in / ${attempt.outputTokens ?? 0} out`;
      lines.push(
        `  attempt ${attempt.attempt.padEnd(8)} ${attempt.provider}/${attempt.model}  ${outcomeOf(attempt)}  first chunk ${ms(attempt.firstChunkMs)}  ${ms(attempt.durationMs)}${tokens}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

function outcomeOf(record: { outcome: string; errorCode?: string }): string {
  return record.errorCode ? `${record.outcome} (${record.errorCode})` : record.outcome;
}

function ms(value: number | undefined): string {
  return value === undefined ? "-" : `${value} ms`;
}
