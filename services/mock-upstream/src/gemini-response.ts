// The Gemini API wire format of one planned answer: streamGenerateContent's server-sent
// GenerateContentResponse chunks (candidates / content / parts, functionCall parts carrying a
// thoughtSignature, finishReason, usageMetadata), the single generateContent answer, and Google's
// JSON error shape, so the official @google/genai SDK can be tested against the mock. Timing and
// failures are wire-stream.ts's.
import { parseArguments } from "./anthropic-response.ts";
import type { ChatPlan } from "./chat-response.ts";
import type { AnswerWire, HttpError, StreamWire } from "./wire-stream.ts";

/** Google's canonical status name for an HTTP status. */
function statusName(status: number): string {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

function googleErrorJson(status: number, message: string, retryAfterSeconds?: number): string {
  const details =
    retryAfterSeconds === undefined
      ? {}
      : { details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${retryAfterSeconds}s` }] };
  return JSON.stringify({ error: { code: status, message, status: statusName(status), ...details } });
}

/** Google sends no Retry-After header: the delay rides in the error's RetryInfo detail. */
export function googleError(status: number, message: string, retryAfterSeconds?: number): HttpError {
  return { status, body: googleErrorJson(status, message, retryAfterSeconds) };
}

/** The thought signature the mock puts on the first function call of answer `seq` (base64, as Gemini's). */
function mockThoughtSignature(seq: number): string {
  return Buffer.from(`mock-thought-signature-${seq}`).toString("base64");
}

function functionCallPart(plan: ChatPlan, index: number): object {
  const call = plan.toolCalls[index] as ChatPlan["toolCalls"][number];
  const part = { functionCall: { name: call.name, args: parseArguments(call.arguments) } };
  // As Gemini 3 does with parallel calls: only the first function call part carries the signature.
  return index === 0 ? { ...part, thoughtSignature: mockThoughtSignature(plan.seq) } : part;
}

function finishReasonOf(plan: ChatPlan): string {
  return plan.behaviour.finishReason ?? "STOP";
}

function usage(plan: ChatPlan, candidates: number): object {
  return {
    promptTokenCount: plan.promptTokens,
    candidatesTokenCount: candidates,
    totalTokenCount: plan.promptTokens + candidates,
  };
}

export function geminiStream(plan: ChatPlan): StreamWire {
  const textCount = plan.textTokens.length;
  const chunk = (parts: object[], candidates: number, finishReason?: string): string =>
    `data: ${JSON.stringify({
      candidates: [{ content: { parts, role: "model" }, ...(finishReason ? { finishReason } : {}), index: 0 }],
      usageMetadata: usage(plan, candidates),
      modelVersion: plan.model,
      responseId: `mock-${plan.seq}`,
    })}\r\n\r\n`;
  return {
    total: textCount + plan.toolCalls.length,
    event: (step) =>
      step < textCount
        ? chunk([{ text: plan.textTokens[step] }], step + 1)
        : chunk([functionCallPart(plan, step - textCount)], step + 1),
    end: (sent) => chunk([{ text: "" }], sent, finishReasonOf(plan)),
    error: (_sent, message) => `data: ${googleErrorJson(500, message)}\r\n\r\n`,
    httpError: googleError,
  };
}

export function geminiAnswer(plan: ChatPlan): AnswerWire {
  const total = plan.textTokens.length + plan.toolCalls.length;
  return {
    total,
    body() {
      const parts: object[] = [];
      if (plan.textTokens.length > 0) parts.push({ text: plan.textTokens.join("") });
      plan.toolCalls.forEach((_call, index) => {
        parts.push(functionCallPart(plan, index));
      });
      return JSON.stringify({
        candidates: [{ content: { parts, role: "model" }, finishReason: finishReasonOf(plan), index: 0 }],
        usageMetadata: usage(plan, total),
        modelVersion: plan.model,
        responseId: `mock-${plan.seq}`,
      });
    },
    httpError: googleError,
    serverError: (message) => googleError(500, message),
  };
}
