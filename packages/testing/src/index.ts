// @switchboard/testing: the helpers every workspace's tests share. Only ever a devDependency, so its
// own dependencies are devDependencies too and never reach a production install.
export { chatBody } from "./chat-body.ts";
export { freePort } from "./free-port.ts";
export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.ts";
export { parsePrometheusText, scrape, total, type Sample } from "./prometheus-text.ts";
export { removeKeys } from "./remove-keys.ts";
export { spawnRedisServer } from "./spawn-redis-server.ts";
export { readSse, sseDataReader, sseEvents } from "./sse.ts";
export { waitForRedis } from "./wait-for-redis.ts";
