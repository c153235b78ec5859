// The Responses API answer shapes a strict client accepts (the openai SDK's `responses.stream()`
// checks item ids, indexes and order): one `response` object, or a stream of typed events, each with
// a `sequence_number`, that build the same object step by step.

type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

interface ResponseOutputText {
  type: "output_text";
  text: string;
  annotations: [];
  logprobs: [];
}

interface ResponseOutputRefusal {
  type: "refusal";
  refusal: string;
}

export type ResponseContentPart = ResponseOutputText | ResponseOutputRefusal;

export interface ResponseOutputMessage {
  type: "message";
  id: string;
  role: "assistant";
  status: "in_progress" | "completed" | "incomplete";
  content: ResponseContentPart[];
}

export interface ResponseFunctionCall {
  type: "function_call";
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: "in_progress" | "completed" | "incomplete";
}

export type ResponseOutputItem = ResponseOutputMessage | ResponseFunctionCall;

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  status: ResponseStatus;
  completed_at: number | null;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: "max_output_tokens" | "content_filter" } | null;
  model: string;
  output: ResponseOutputItem[];
  usage: ResponseUsage | null;
  /** The request's own settings, echoed as OpenAI does. */
  [setting: string]: unknown;
}

/** Every event the gateway streams; `sequence_number` counts from 0 within one response. */
export type ResponseStreamEvent =
  | { type: "response.created" | "response.in_progress"; response: ResponseObject }
  | { type: "response.completed" | "response.incomplete" | "response.failed"; response: ResponseObject }
  | { type: "response.output_item.added" | "response.output_item.done"; output_index: number; item: ResponseOutputItem }
  | {
      type: "response.content_part.added" | "response.content_part.done";
      item_id: string;
      output_index: number;
      content_index: number;
      part: ResponseContentPart;
    }
  | {
      type: "response.output_text.delta";
      item_id: string;
      output_index: number;
      content_index: number;
      delta: string;
      logprobs: [];
    }
  | {
      type: "response.output_text.done";
      item_id: string;
      output_index: number;
      content_index: number;
      text: string;
      logprobs: [];
    }
  | { type: "response.refusal.delta"; item_id: string; output_index: number; content_index: number; delta: string }
  | { type: "response.refusal.done"; item_id: string; output_index: number; content_index: number; refusal: string }
  | { type: "response.function_call_arguments.delta"; item_id: string; output_index: number; delta: string }
  | {
      type: "response.function_call_arguments.done";
      item_id: string;
      output_index: number;
      name: string;
      arguments: string;
    }
  | { type: "error"; code: string; message: string; param: string | null };

export function responseId(requestId: string): string {
  return `resp_${requestId}`;
}
