// Hostile-body guards the JSON parser does not give: invalid UTF-8 (JSON must be UTF-8; decoding
// would silently turn it into U+FFFD and send it upstream), nesting so deep that serialising the
// job (a recursive JSON.stringify) would overflow the stack, and `__proto__` keys. All answer 400.
import { isUtf8 } from "node:buffer";

/** The error types the app's error handler maps to 400s. */
export const invalidUtf8Type = "encoding.invalid_utf8";
export const tooDeepType = "entity.too_deep";

/**
 * express.json's verify hook: throw before parsing when the bytes are not UTF-8, or when brackets
 * nest deeper than maxDepth — checked on the raw bytes, so a hostile 100,000-deep body is refused
 * without JSON.parse first building it (which costs far more memory than the body itself).
 */
export function bodyVerifier(maxDepth: number) {
  return (_request: unknown, _response: unknown, body: Buffer): void => {
    if (!isUtf8(body))
      throw Object.assign(new Error("The request body is not valid UTF-8."), { type: invalidUtf8Type });
    if (bracketDepthExceeds(body, maxDepth))
      throw Object.assign(new Error(`The request body nests deeper than ${maxDepth} levels.`), { type: tooDeepType });
  };
}

function bracketDepthExceeds(body: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < body.length; index++) {
    const byte = body[index];
    if (inString) {
      if (byte === 0x5c)
        index++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return false;
}

/**
 * What is wrong with a parsed body that the schema cannot see, or undefined: nesting deeper than
 * maxDepth, or a `__proto__` key, which no chat request has and which is the way into prototype
 * pollution further down (`constructor` is left alone: a tool's JSON schema may name a property so). Iterative: no recursion to overflow.
 */
export function bodyDefect(value: unknown, maxDepth: number): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof current !== "object" || current === null) continue;
    if (depth >= maxDepth) return `The request body nests deeper than ${maxDepth} levels.`;
    if (Array.isArray(current)) {
      for (const child of current)
        if (typeof child === "object" && child !== null) stack.push({ value: child, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(current)) {
      if (forbiddenKeys.has(key)) return `The request body contains the key "${key}", which is not allowed.`;
      const child = (current as Record<string, unknown>)[key];
      if (typeof child === "object" && child !== null) stack.push({ value: child, depth: depth + 1 });
    }
  }
  return undefined;
}

const forbiddenKeys = new Set(["__proto__"]);
