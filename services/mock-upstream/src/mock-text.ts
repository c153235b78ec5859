// Deterministic fake model output. The mock server streams these tokens and
// tests call the same functions to compute the exact text they must receive.

const words: readonly string[] = [
  "Switchboard ",
  "relays ",
  "every ",
  "token ",
  "from ",
  "the ",
  "upstream ",
  "model ",
  "to ",
  "the ",
  "voice ",
  "agent ",
  "as ",
  "soon ",
  "as ",
  "it ",
  "arrives, ",
  "so ",
  "callers ",
  "hear ",
  "answers ",
  "without ",
  "awkward ",
  "pauses ",
  "and ",
  "nobody ",
  "waits ",
  "for ",
  "a ",
  "slow ",
  "reply. ",
];

/** Picks a stable start offset in the word list for a seed (FNV-1a hash). */
function seedOffset(seed: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < seed.length; index++) {
    hash ^= seed.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % words.length;
}

/**
 * Returns `count` tokens; each one is a word followed by a space, cycling
 * through a fixed word list. A seed only changes where in the list it starts.
 */
export function mockTokens(count: number, seed?: string): string[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`mockTokens: count must be a non-negative integer, got ${String(count)}`);
  }
  const start = seed === undefined ? 0 : seedOffset(seed);
  const tokens = new Array<string>(count);
  for (let index = 0; index < count; index++) {
    tokens[index] = words[(start + index) % words.length] as string;
  }
  return tokens;
}

/** The full text of `mockTokens(count, seed)`, i.e. what a client assembles. */
export function mockText(count: number, seed?: string): string {
  return mockTokens(count, seed).join("");
}

/**
 * Splits caller-supplied text into word tokens (a word plus the whitespace
 * after it) such that `splitWords(text).join("") === text`.
 */
export function splitWords(text: string): string[] {
  if (text === "") return [];
  const tokens = text.match(/\s*\S+\s*/g);
  return tokens ?? [text];
}
