// Gemini names no tool call, and may sign one: a function call part can carry a `thoughtSignature`
// that must come back on that part when the history is sent again (else a Gemini 3 model answers
// 400). An OpenAI client keeps nothing but the tool call's id, which it echoes in the assistant
// message and in the tool message, so the signature travels in the id:
//   call_<16 hex>                      a call without a signature
//   call_<16 hex>_ts_<base64url sig>   a signed call; the signature is restored from the id
// Every character is in [A-Za-z0-9_-], the set Anthropic allows in a tool_use id, so a history
// made on Gemini can go to Anthropic (a fallback), whose provider sends the short form.
import { randomBytes } from "node:crypto";

const signedId = /^(call_[0-9a-f]{16})_ts_([A-Za-z0-9_-]+)$/;

/** A new tool call id carrying `signature` (base64, as Gemini sends it), if any. */
export function geminiToolCallId(signature: string | undefined): string {
  const id = `call_${randomBytes(8).toString("hex")}`;
  return signature ? `${id}_ts_${Buffer.from(signature, "base64").toString("base64url")}` : id;
}

/** The thought signature (base64) carried by a tool call id, if it carries one. */
export function thoughtSignatureOf(id: string): string | undefined {
  const match = signedId.exec(id);
  return match ? Buffer.from(match[2] as string, "base64url").toString("base64") : undefined;
}

/** The id without a thought signature (what other upstreams are sent: shorter, same pairing). */
export function plainToolCallId(id: string): string {
  return signedId.exec(id)?.[1] ?? id;
}
