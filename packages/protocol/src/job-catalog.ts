// The one catalog of queue jobs: name, payload and policy. The ingress's enqueue and the worker's
// handler are both typed from it, so they cannot drift apart.
import type { ChatRequest } from "./chat-request.ts";

export interface ChatJob {
  requestId: string;
  /** The model id the client asked for; the worker resolves it to a route. */
  model: string;
  /** The request body as it goes upstream: vendor fields removed, stream forced on by the worker. */
  request: ChatRequest;
  /** The ingress that owns the request: its id is the hash tag of the request's log and reply channel. */
  ingressId: string;
  /** The reply channel of the ingress that owns the request. */
  replyChannel: string;
  /** Epoch ms after which nobody waits for an answer any more. */
  deadlineAt: number;
  /** Epoch ms when the ingress enqueued the job (queue wait is measured from here). */
  enqueuedAt: number;
  /**
   * Epoch ms after which no worker may start the job: the ingress has answered queue_timeout by
   * then (a voice platform hangs up after a few seconds; a late answer is worthless).
   */
  startBy?: number;
  /**
   * The conversation the request is a turn of (the ingress resolves it from a header, the
   * ElevenLabs extra body or the OpenAI `user` field): the worker records the turn's attempts in
   * the conversation's timeline and names it on its spans.
   */
  conversationId?: string;
  /** W3C trace context of the ingress's enqueue (PRODUCER) span, for one trace across processes. */
  trace?: Record<string, string>;
}

export const jobCatalog = {
  chat: {
    /** The BullMQ queue the ingress enqueues on and the workers consume (keys `{prefix}:chat:*`). */
    queue: "chat",
    name: "chat",
    /** A streamed answer cannot be regenerated once a token went out: no BullMQ retries. */
    attempts: 1,
    /**
     * A failed job (rare: a relay write that failed, a job stalled too often) holds the request's
     * body, personal data of up to BODY_LIMIT_BYTES: kept a few minutes for inspection, no more.
     */
    keepFailed: { age: 300, count: 100 },
  },
} as const;
