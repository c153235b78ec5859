// The queue-wait check: a request no worker has started by its start-by time is answered
// queue_timeout (QUEUE_MAX_WAIT_MS): a voice platform hangs up after a few seconds, and a late
// answer is worthless.
import { GatewayError } from "@switchboard/protocol";
import type { IngressRuntime } from "./ingress-runtime.ts";
import type { OpenAnswer } from "./open-answer.ts";

/**
 * The start-by time has passed: answer queue_timeout unless a worker started the request. The
 * worker's "started" event may have been lost from pub/sub (the subscriber was reconnecting),
 * so the request's log decides, read once, now. A worker refuses a first start after start-by;
 * one that passed its check just before but had not written its event yet is stopped by the
 * cancel that goes with the 503. Redis down: the read fails at once (or at the command timeout
 * if Redis hangs) and the answer is queue_timeout, as before; the deadline still holds.
 */
export async function endIfNotStarted(
  answer: Pick<OpenAnswer, "sink" | "log" | "failAndCancel">,
  requestId: string,
  runtime: IngressRuntime,
  queueMaxWaitMs: number,
): Promise<void> {
  const { sink } = answer;
  if (sink.hasStarted || sink.isEnded) return;
  if (!runtime.redisDown) {
    await runtime
      .catchUp(requestId)
      .catch((error: unknown) => answer.log.warn("queue-wait log read failed", { error }));
  }
  if (!sink.hasStarted)
    answer.failAndCancel(
      new GatewayError("queue_timeout", {
        retryAfterSeconds: 1,
        message: `No worker started the request within ${queueMaxWaitMs} ms (QUEUE_MAX_WAIT_MS).`,
      }),
    );
}
