// Hostile-body guards the JSON parser does not give: invalid UTF-8 (JSON must be UTF-8; decoding
// would silently turn it into U+FFFD and send it upstream), nesting so deep that serialising the
// job (a recursive JSON.stringify) would overflow the stack, more JSON values than any chat request
// has (what a parsed body costs is its values, not its bytes: `[{},{},…]` is 3 bytes an object and
// about 64 bytes of heap once parsed, so a 10 MB body of them is 200 MB), and `__proto__` keys.
import { isUtf8 } from "node:buffer";

/** The error types the app's error handler maps to 4xx answers. */
export const invalidUtf8Type = "encoding.invalid_utf8";
export const tooDeepType = "entity.too_deep";
export const tooManyValuesType = "entity.too_many_values";

export interface BodyLimits {
  /** JSON_MAX_DEPTH: deepest nesting of objects and arrays. */
  maxDepth: number;
  /** JSON_MAX_VALUES: most values (objects, arrays, strings, numbers, literals; keys not counted). */
  maxValues: number;
}

/**
 * express.json's verify hook: throw before parsing when the bytes are not UTF-8, when brackets
 * nest deeper than maxDepth, or when the body holds more than maxValues values — checked on the
 * raw bytes, in one pass, so a hostile body is refused before JSON.parse builds it (which costs far
 * more memory than the body itself).
 */
/** The size of each parsed request's body (as parsed: after any content decoding), for per-route limits. */
const bodySizes = new WeakMap<object, number>();

/** The request's body size in bytes as the JSON parser read it; undefined if it had none. */
export function bodyBytesOf(request: object): number | undefined {
  return bodySizes.get(request);
}

export function bodyVerifier(limits: BodyLimits) {
  return (request: object, _response: unknown, body: Buffer): void => {
    bodySizes.set(request, body.length);
    if (!isUtf8(body))
      throw Object.assign(new Error("The request body is not valid UTF-8."), { type: invalidUtf8Type });
    const excess = structureExceeds(body, limits);
    if (excess === "depth")
      throw Object.assign(new Error(`The request body nests deeper than ${limits.maxDepth} levels.`), {
        type: tooDeepType,
      });
    if (excess === "values")
      throw Object.assign(
        new Error(`The request body holds more than ${limits.maxValues} JSON values (JSON_MAX_VALUES).`),
        { type: tooManyValuesType },
      );
  };
}

/**
 * Which limit the body's structure goes over, if any. Values are counted as they start: `{`, `[`,
 * a string that is not a key (a key is followed by `:`, so each `:` takes one string back), and
 * each run of number or literal characters. Exact for valid JSON; invalid JSON is counted somehow
 * and then refused by the parser.
 */
export function structureExceeds(body: Buffer, limits: BodyLimits): "depth" | "values" | undefined {
  let depth = 0;
  let values = 0;
  let inString = false;
  let inScalar = false;
  for (let index = 0; index < body.length; index++) {
    const byte = body[index] as number;
    if (inString) {
      if (byte === 0x5c)
        index++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
      continue;
    }
    if (byte === 0x22) {
      inString = true;
      inScalar = false;
      if (++values > limits.maxValues + 1) return "values"; // + 1: this string may be a key
    } else if (byte === 0x7b || byte === 0x5b) {
      inScalar = false;
      if (++depth > limits.maxDepth) return "depth";
      if (++values > limits.maxValues) return "values";
    } else if (byte === 0x7d || byte === 0x5d) {
      inScalar = false;
      depth--;
    } else if (byte === 0x3a) {
      inScalar = false;
      values--; // the string before a colon was a key
    } else if (byte === 0x2c || byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) {
      inScalar = false;
    } else if (!inScalar) {
      inScalar = true;
      if (++values > limits.maxValues) return "values";
    }
  }
  return values > limits.maxValues ? "values" : undefined;
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
