// Stale turns of a conversation. A voice platform sends a conversation's next turn while the
// previous answer may still be streaming (the caller spoke again, or the platform re-sent the turn
// with a longer transcript): the older answer has already been dropped by the platform, and its
// upstream call only costs. Each conversation's current request id lives in Redis; a new turn sets
// it, and if it replaced another request, the script tells every ingress, whichever holds that
// request ends it (a clean finish to its client, a cancel to its worker).
import type { Result } from "ioredis";
import type { RelayKeys } from "./keys.ts";
import type { RedisConnection } from "./redis-client.ts";

/**
 * KEYS[1] the conversation's current-turn key; ARGV: the new request id, the key's TTL (ms), the
 * supersede channel. Sets the new id, and publishes the old one if there was another; returns it.
 */
const claimScript = `
local previous = redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2], "GET")
if previous and previous ~= ARGV[1] then
  redis.call("PUBLISH", ARGV[3], previous)
  return previous
end
return false
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    claimConversationTurn(
      key: string,
      requestId: string,
      ttlMs: number,
      channel: string,
    ): Result<string | null, Context>;
  }
}

export function defineSupersessionCommands(redis: RedisConnection): void {
  redis.defineCommand("claimConversationTurn", { numberOfKeys: 1, lua: claimScript });
}

/**
 * Make requestId the conversation's current turn; the request it replaced (already announced on
 * the supersede channel), or null. scope: whose conversation ids these are (a caller's key id), so
 * one caller cannot end another's turns by naming the same id.
 */
export async function claimConversationTurn(
  redis: RedisConnection,
  keys: RelayKeys,
  scope: string,
  conversationId: string,
  requestId: string,
  ttlMs: number,
): Promise<string | null> {
  return redis.claimConversationTurn(
    keys.conversationTurn(scope, conversationId),
    requestId,
    ttlMs,
    keys.supersedeChannel,
  );
}

/** Subscribe a connection to supersessions: onSuperseded gets every replaced request id. */
export async function listenForSupersessions(
  subscriber: RedisConnection,
  keys: RelayKeys,
  onSuperseded: (requestId: string) => void,
): Promise<void> {
  subscriber.on("message", (channel: string, requestId: string) => {
    if (channel === keys.supersedeChannel) onSuperseded(requestId);
  });
  await subscriber.subscribe(keys.supersedeChannel);
}
