// Hostile-body guards the JSON parser does not give: invalid UTF-8 (JSON must be UTF-8; decoding
// would silently turn it into U+FFFD and send it upstream), and nesting so deep that serialising
// the job (a recursive JSON.stringify) would overflow the stack. Both answer 400.
import { isUtf8 } from "node:buffer";

/** The error type the app's error handler maps to invalid_json. */
export const invalidUtf8Type = "encoding.invalid_utf8";

/** express.json's verify hook: throw before parsing when the bytes are not UTF-8. */
export function verifyUtf8(_request: unknown, _response: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw Object.assign(new Error("The request body is not valid UTF-8."), { type: invalidUtf8Type });
}

/** Does value nest objects and arrays deeper than maxDepth? Iterative: no recursion to overflow. */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof current !== "object" || current === null) continue;
    if (depth >= maxDepth) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) if (typeof child === "object" && child !== null) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}
