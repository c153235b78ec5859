// @switchboard/protocol: pure shapes and rules shared by every service. No I/O, no internal imports.
export {
  ChatRequest,
  ChatMessage,
  ContentPart,
  MessageContent,
  StreamOptions,
  Tool,
  ToolCall,
  vendorFields,
} from "./chat-request.ts";
export type {
  AssistantToolCall,
  ChatCompletion,
  ChatCompletionChunk,
  ChunkDelta,
  FinishReason,
  ToolCallDelta,
  Usage,
} from "./chat-response.ts";
export {
  errorCodes,
  isDeterministic,
  isErrorCode,
  isRetryable,
  type ErrorCode,
  type ErrorCodeSpec,
} from "./error-codes.ts";
export { GatewayError, errorBody, toErrorBody, type ErrorBody, type GatewayErrorOptions } from "./gateway-error.ts";
export {
  decodeRelayEvent,
  decodeReplyMessage,
  encodeDelta,
  encodeRelayEvent,
  encodeReplyRecord,
  isTerminal,
  joinReplyRecords,
  logEntryId,
  parseLogEntryId,
  replyRecordSeparator,
  type DeltaEvent,
  type ErrorEvent,
  type EventPosition,
  type FinishEvent,
  type RelayEvent,
  type ReplyRecord,
  type StartedEvent,
} from "./relay-event.ts";
export { jobCatalog, type ChatJob, type JobName } from "./job-catalog.ts";
export { completionId, isRequestId } from "./request-id.ts";
