// Normalises streamed chunks so a gateway's stream can be compared with the upstream's own.
interface StreamChoice {
  delta?: Record<string, unknown>;
  finish_reason?: string | null;
}

/**
 * The deltas of a chunk stream without `role` and without `content: null` (both are framing, not
 * output), with tool call ids replaced by their order of appearance (upstream ids differ per call),
 * and the finish reasons — what "exactly what the upstream produced" means for a stream.
 */
export function normalisedStream(events: ReadonlyArray<{ json?: Record<string, unknown> }>): {
  deltas: unknown[];
  finishReasons: Array<string | null>;
} {
  const ids = new Map<string, string>();
  const deltas: unknown[] = [];
  const finishReasons: Array<string | null> = [];
  for (const event of events) {
    const choice = (event.json?.choices as StreamChoice[] | undefined)?.[0];
    if (!choice) continue;
    finishReasons.push(choice.finish_reason ?? null);
    const delta = structuredClone(choice.delta ?? {});
    delete delta.role;
    if (delta.content === null) delete delta.content;
    for (const call of (delta.tool_calls as Array<{ id?: string }> | undefined) ?? []) {
      if (call.id !== undefined) call.id = ids.get(call.id) ?? ids.set(call.id, `call-${ids.size}`).get(call.id)!;
    }
    if (Object.keys(delta).length > 0) deltas.push(delta);
  }
  return { deltas, finishReasons };
}
