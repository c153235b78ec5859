// @switchboard/protocol: pure shapes and rules shared by every service. No I/O, no internal imports.
export { ChatRequest, openAIChatFields, vendorFields } from "./chat-request.ts";
export type { AssistantToolCall, ChatCompletion, ChunkDelta, FinishReason, Usage } from "./chat-response.ts";
export { errorCodes, isDeterministic, isErrorCode, isRetryable } from "./error-codes.ts";
export { GatewayError, toErrorBody } from "./gateway-error.ts";
export {
  decodeRelayEvent,
  decodeReplyMessage,
  encodeDelta,
  encodeRelayEvent,
  encodeReplyRecord,
  isEndFrame,
  joinReplyRecords,
  logEntryId,
  parseLogEntryId,
  replyRecordSeparator,
  type EventPosition,
  type ReplyRecord,
} from "./relay-event.ts";
export { elideQuoted, redactUrl, scrubSecrets } from "./scrub-secrets.ts";
export { jobCatalog, type ChatJob } from "./job-catalog.ts";
export { completionId, isRequestId } from "./request-id.ts";
export { ResponsesRequest } from "./responses-request.ts";
export {
  responseId,
  type ResponseContentPart,
  type ResponseFunctionCall,
  type ResponseObject,
  type ResponseOutputItem,
  type ResponseOutputMessage,
  type ResponseStreamEvent,
  type ResponseUsage,
} from "./responses-response.ts";
export { chatRequestFromResponses } from "./responses-to-chat.ts";
export { responsesRequestFromChat } from "./chat-to-responses.ts";
