// The reference point: an in-process Node.js gateway (Express + the openai SDK) in front of the same
// mock, the way most Node gateways proxy. `node test/bench/node-proxy.ts` with UPSTREAM_URL and PORT.
import express from "express";
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.UPSTREAM_URL, apiKey: "unused", maxRetries: 0 });
const app = express();
app.post("/v1/chat/completions", express.json({ limit: "10mb" }), async (request, response) => {
  // A caller that hangs up cancels the upstream call, as a gateway in front of a paid model must.
  const hangUp = new AbortController();
  response.on("close", () => hangUp.abort());
  try {
    if (request.body.stream) {
      const stream = await client.chat.completions.create(
        { ...request.body, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming,
        { signal: hangUp.signal },
      );
      response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      for await (const chunk of stream) response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      response.end("data: [DONE]\n\n");
    } else {
      response.json(await client.chat.completions.create(request.body, { signal: hangUp.signal }));
    }
  } catch (error) {
    if (response.headersSent) response.end();
    else
      response
        .status(502)
        .json({ error: { message: (error as Error).message, type: "server_error", param: null, code: null } });
  }
});
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  console.log(JSON.stringify({ level: "info", msg: "listening", url: `http://127.0.0.1:${port}/v1` }));
});
server.keepAliveTimeout = 65_000;
process.on("SIGTERM", () => process.exit(0));
