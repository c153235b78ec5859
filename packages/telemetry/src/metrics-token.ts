// METRICS_TOKEN, checked the same way by every service that serves metrics: a scrape is answered
// only with `Authorization: Bearer <token>`, compared as SHA-256 digests in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Does a request carry the token? No token: undefined, and scrapes are open. */
export function metricsAuthorizer(token: string | undefined): ((request: IncomingMessage) => boolean) | undefined {
  if (token === undefined) return undefined;
  const digest = (text: string) => createHash("sha256").update(text).digest();
  const expected = digest(token);
  return (request) => {
    const presented = /^Bearer\s+(.+)$/i.exec(request.headers.authorization?.trim() ?? "")?.[1]?.trim() ?? "";
    return timingSafeEqual(digest(presented), expected);
  };
}
