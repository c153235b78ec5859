// The builder's events are read back by the openai SDK's own ResponseStream (from newline-delimited
// JSON, its format for streams handed between runtimes), which checks ids, indexes and order.
import { ResponseStream } from "openai/lib/responses/ResponseStream";
import { describe, expect, it } from "vitest";
import { GatewayError, type ChunkDelta, type ResponseStreamEvent } from "@switchboard/protocol";
import { ResponseBuilder } from "./response-builder.ts";

function builder() {
  const events: Array<ResponseStreamEvent & { sequence_number: number }> = [];
  const built = new ResponseBuilder({
    requestId: "req_test1",
    model: "m",
    createdAt: 1,
    settings: { tools: [] },
    emit: (event, sequenceNumber) => events.push({ ...event, sequence_number: sequenceNumber }),
  });
  return { built, events };
}

function readBySdk(events: unknown[]) {
  const lines = new TextEncoder().encode(events.map((event) => `${JSON.stringify(event)}\n`).join(""));
  const stream = ResponseStream.fromReadableStream(
    new ReadableStream({
      start(controller) {
        controller.enqueue(lines);
        controller.close();
      },
    }),
  );
  return stream.finalResponse();
}

const call = (index: number, fields: { id?: string; name?: string; arguments?: string }): ChunkDelta => ({
  tool_calls: [
    {
      index,
      ...(fields.id ? { id: fields.id, type: "function" as const } : {}),
      function: {
        ...(fields.name ? { name: fields.name } : {}),
        ...(fields.arguments ? { arguments: fields.arguments } : {}),
      },
    },
  ],
});

describe("ResponseBuilder", () => {
  it("builds text, a refusal and interleaved parallel calls that the SDK accepts", async () => {
    const { built, events } = builder();
    built.addDelta({ content: "One " });
    built.addDelta({ content: "moment." });
    built.addDelta(call(0, { id: "call_a", name: "weather", arguments: '{"ci' }));
    built.addDelta(call(1, { id: "call_b", name: "end_call", arguments: "{" }));
    built.addDelta(call(0, { arguments: 'ty":"Paris"}' }));
    built.addDelta(call(1, { arguments: "}" }));
    built.addDelta({ refusal: "No." });
    const final = built.finish("tool_calls", { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index));

    const response = await readBySdk(events);
    expect(response.status).toBe("completed");
    expect(response.output_text).toBe("One moment.");
    expect(response.output).toMatchObject(final.output);
    expect(response.output.map((item) => item.type)).toEqual(["message", "function_call", "function_call", "message"]);
    expect(response.output[1]).toMatchObject({ call_id: "call_a", name: "weather", arguments: '{"city":"Paris"}' });
    expect(response.output[2]).toMatchObject({ call_id: "call_b", name: "end_call", arguments: "{}" });
    expect(response.output[3]).toMatchObject({ content: [{ type: "refusal", refusal: "No." }] });
    expect(response.usage).toEqual({
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 12,
    });
  });

  it("gives a call without an id one of its own", () => {
    const { built } = builder();
    built.addDelta(call(0, { name: "end_call", arguments: "{}" }));
    expect(built.finish("tool_calls", null).output[0]).toMatchObject({ call_id: "call_req_test1_0" });
  });

  it("ends a length-cut answer as response.incomplete", async () => {
    const { built, events } = builder();
    built.addDelta({ content: "Cut" });
    built.finish("length", null);
    expect(events.at(-1)).toMatchObject({
      type: "response.incomplete",
      response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } },
    });
    expect((await readBySdk(events)).output[0]).toMatchObject({ status: "incomplete" });
  });

  it("ends an empty answer with no output items", async () => {
    const { built, events } = builder();
    built.finish("stop", null);
    expect(events.map((event) => event.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.completed",
    ]);
    expect((await readBySdk(events)).output).toEqual([]);
  });

  it("fails with an error event, then response.failed holding the output so far", async () => {
    const { built, events } = builder();
    built.addDelta({ content: "Half" });
    built.fail(new GatewayError("upstream_interrupted"));
    expect(events.slice(-2)).toMatchObject([
      { type: "error", code: "upstream_interrupted", param: null },
      {
        type: "response.failed",
        response: {
          status: "failed",
          error: { code: "upstream_interrupted" },
          output: [{ type: "message", status: "incomplete", content: [{ type: "output_text", text: "Half" }] }],
        },
      },
    ]);
    // Without the error event the SDK ends on response.failed, with the failed response.
    expect((await readBySdk(events.filter((event) => event.type !== "error"))).status).toBe("failed");
    await expect(readBySdk(events)).rejects.toThrow(/interrupted/);
  });
});
