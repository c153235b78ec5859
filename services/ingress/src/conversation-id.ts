// Which conversation a request is a turn of, when the caller says. Sources, first found wins:
//   1. the CONVERSATION_ID_HEADER header (default x-conversation-id; in ElevenLabs a custom LLM
//      request header whose value is the dynamic variable system__conversation_id);
//   2. `elevenlabs_extra_body.conversation_id` (ElevenLabs' custom_llm_extra_body, set by the
//      client at conversation start);
//   3. the OpenAI `user` field (one end user, one conversation at a time).
// An id must be 1–128 characters of letters, digits and ._:/+=@- (it becomes part of Redis keys
// and span attributes); a source whose value is not is skipped.
import type { IncomingHttpHeaders } from "node:http";
import type { ChatRequest } from "@switchboard/protocol";

type ConversationSource = "header" | "elevenlabs_extra_body" | "user";

export interface Conversation {
  id: string;
  source: ConversationSource;
}

const conversationIdPattern = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

function valid(value: unknown): value is string {
  return typeof value === "string" && conversationIdPattern.test(value);
}

/** headers: the request's; header: CONVERSATION_ID_HEADER. */
export function conversationOf(
  headers: IncomingHttpHeaders,
  body: ChatRequest,
  header: string,
): Conversation | undefined {
  const fromHeader = headers[header.toLowerCase()];
  if (valid(fromHeader)) return { id: fromHeader, source: "header" };
  const fromExtraBody = body.elevenlabs_extra_body?.conversation_id;
  if (valid(fromExtraBody)) return { id: fromExtraBody, source: "elevenlabs_extra_body" };
  if (valid(body.user)) return { id: body.user, source: "user" };
  return undefined;
}
