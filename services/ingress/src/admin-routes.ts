// The admin endpoints, for operators rather than callers: GET /admin/conversations/:id/timeline
// lists a conversation's turns (packages/relay/src/timeline.ts). They answer only ADMIN_API_KEYS
// keys (Authorization: Bearer, or the AUTH_HEADER header): an API key gets 403, anything else 401.
// Without admin keys they are not served. Keys are compared as SHA-256 digests in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import { GatewayError } from "@switchboard/protocol";
import type { Logger } from "@switchboard/telemetry";
import { sendError } from "./completion-sink.ts";
import type { AdminAccess, IngressRuntime } from "./ingress-runtime.ts";

const conversationIdPattern = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

export function adminRoutes(runtime: IngressRuntime, log: Logger): express.Router {
  const router = express.Router();
  const { adminAccess } = runtime;
  if (adminAccess.adminKeys.length === 0) return router;
  router.use("/admin", adminOnly(adminAccess, log));
  router.get("/admin/conversations/:id/timeline", async (request: Request, response: Response) => {
    const conversationId = String(request.params.id);
    if (!conversationIdPattern.test(conversationId))
      return sendError(
        response,
        new GatewayError("invalid_request", {
          param: "id",
          message: "A conversation id is 1–128 characters of letters, digits and ._:/+=@-.",
        }),
      );
    try {
      const turns = await runtime.timeline(conversationId);
      response.json({ object: "conversation.timeline", conversation_id: conversationId, turns });
    } catch (error) {
      log.warn("timeline read failed", { error });
      sendError(response, new GatewayError("redis_unavailable", { retryAfterSeconds: 1, cause: error }));
    }
  });
  return router;
}

function adminOnly(access: AdminAccess, log: Logger) {
  const adminDigests = access.adminKeys.map(digest);
  const apiDigests = access.apiKeys.map(digest);
  const header = access.header?.toLowerCase();
  return (request: Request, response: Response, next: NextFunction): void => {
    const presented = presentedKey(request, header);
    const presentedDigest = digest(presented ?? "");
    if (presented !== undefined && matches(presentedDigest, adminDigests)) return next();
    if (presented !== undefined && matches(presentedDigest, apiDigests)) {
      log.warn("admin endpoint refused an API key", { path: request.path });
      response.status(403).json({
        error: {
          message: "This endpoint needs an admin key (ADMIN_API_KEYS); API keys may not use it.",
          type: "permission_error",
          param: null,
          code: "forbidden",
        },
      });
      return;
    }
    log.warn("admin endpoint refused a request", { reason: presented === undefined ? "missing" : "invalid" });
    sendError(response, new GatewayError("invalid_api_key", { message: "Send an admin key (ADMIN_API_KEYS)." }));
  };
}

function presentedKey(request: Request, header: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization?.trim() ?? "")?.[1]?.trim();
  if (bearer) return bearer;
  if (!header) return undefined;
  const value = request.headers[header];
  const text = (Array.isArray(value) ? value[0] : value)?.trim().replace(/^Bearer\s+/i, "");
  return text ? text : undefined;
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

function matches(candidate: Buffer, digests: readonly Buffer[]): boolean {
  let found = false;
  for (const known of digests) found = timingSafeEqual(candidate, known) || found;
  return found;
}
