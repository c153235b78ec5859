// Who may use the gateway. ElevenLabs sends its "API key" field as `Authorization: Bearer <key>`
// and its custom-header secrets under any header name, so both are accepted. Keys are compared as
// SHA-256 digests with timingSafeEqual against every configured key (no early exit), so neither
// the content nor the length of a key leaks through response timing. Keys are never logged: a
// refused request is logged with the first characters of its key's digest (enough to tell one
// caller's wrong key from another's, useless to anyone who reads the log) and counted.
import { createHash, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { GatewayError } from "@switchboard/protocol";
import { sendError } from "./completion-sink.ts";

export interface AuthenticationOptions {
  /** Accepted API keys; none means the gateway is open. */
  keys: readonly string[];
  /** A header that may carry the key instead of Authorization (e.g. x-switchboard-key). */
  header?: string;
  /** Told of every refused request: missing or invalid, and the digest prefix of the key presented. */
  onFailure?: (failure: AuthenticationFailure, request: Request) => void;
}

interface AuthenticationFailure {
  reason: "missing" | "invalid";
  /** The first 8 hex characters of the presented key's SHA-256 (never the key). */
  keyDigestPrefix?: string;
}

export function authentication(options: AuthenticationOptions) {
  const digests = options.keys.map(digest);
  const header = options.header?.toLowerCase();
  const where = header
    ? `as "Authorization: Bearer <key>" or in the ${header} header`
    : `as "Authorization: Bearer <key>"`;
  return (request: Request, response: Response, next: NextFunction): void => {
    if (digests.length === 0) return next();
    const presented = presentedKeys(request, header);
    if (presented.length === 0) {
      options.onFailure?.({ reason: "missing" }, request);
      return sendError(
        response,
        new GatewayError("invalid_api_key", { message: `Missing API key. Send it ${where}.` }),
      );
    }
    const presentedDigests = presented.map(digest);
    const accepted = presentedDigests.find((candidate) => matches(candidate, digests));
    if (accepted) {
      // Who is calling, for the per-key limits (key-limiter.ts): a digest, never the key.
      response.locals.apiKeyId = accepted.toString("base64url").slice(0, 22);
      return next();
    }
    options.onFailure?.(
      { reason: "invalid", keyDigestPrefix: (presentedDigests[0] as Buffer).toString("hex").slice(0, 8) },
      request,
    );
    sendError(
      response,
      new GatewayError("invalid_api_key", { message: `Invalid API key. Send one of the gateway's keys ${where}.` }),
    );
  };
}

function presentedKeys(request: Request, header: string | undefined): string[] {
  const keys: string[] = [];
  const authorization = request.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) keys.push(match[1].trim());
  }
  if (header) {
    const value = request.headers[header];
    const text = Array.isArray(value) ? value[0] : value;
    if (text) keys.push(text.trim().replace(/^Bearer\s+/i, ""));
  }
  return keys.filter((key) => key !== "");
}

function digest(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

function matches(candidate: Buffer, digests: readonly Buffer[]): boolean {
  let found = false;
  for (const known of digests) found = timingSafeEqual(candidate, known) || found;
  return found;
}
