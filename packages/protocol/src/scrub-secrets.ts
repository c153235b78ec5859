// What an upstream says in an error is not the gateway's to repeat: providers quote organisation
// ids, keys, internal addresses and the request itself. Before such text reaches a log or a span
// it goes through here: anything shaped like a credential is replaced, and it is cut to a length
// a log line can hold.

const redacted = "[redacted]";

/** Longest upstream text kept, in characters. */
export const maxUpstreamDetailLength = 500;

/** key=value and "key": "value" pairs whose name says secret: $1 the name, $2 what joins it to the value. */
const secretPair =
  /\b((?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd|pwd|key|signature|sig|credential)s?)(["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi;

const patterns: ReadonlyArray<[RegExp, string]> = [
  // user:password@ (or token@) in any URL: scheme://…@host
  [/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, `$1${redacted}@`],
  // Authorization-style values: Bearer/Basic followed by a token.
  [/\b(bearer|basic)\s+[^\s"',;]+/gi, `$1 ${redacted}`],
  [secretPair, `$1$2${redacted}`],
  // Well-known key shapes: sk-…, sk_live_…, gsk_…, xai-…, AKIA…, ghp_…, JWTs.
  [/\b(?:sk|pk|rk|gsk|xai|sess)[-_][A-Za-z0-9_-]{8,}/g, redacted],
  [/\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b/g, redacted],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, redacted],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, redacted],
  // Any other long run of letters and digits mixed (hex or base64 keys, org ids): 24+ characters
  // with at least one digit and one letter.
  [/\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{24,}\b/g, redacted],
];

/** The text with everything shaped like a key, token or credentialed URL replaced, and cut short. */
export function scrubSecrets(text: string): string {
  let out = text.length > maxUpstreamDetailLength * 4 ? text.slice(0, maxUpstreamDetailLength * 4) : text;
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
  return out.length > maxUpstreamDetailLength ? `${out.slice(0, maxUpstreamDetailLength)}…` : out;
}

/**
 * One URL fit for logs and error messages: its credentials (everything between the scheme and the
 * last "@", so a password holding "/" or "@" goes too) become `***`, and so does the value of a
 * query parameter named like a secret (`?password=…`). A malformed URL (`redis:/user:pw@host`,
 * `user:pw@host`), the kind an error quotes, loses its credentials too.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/*)?.*@/i, "$1***@").replace(secretPair, "$1$2***");
}

/**
 * The text with every quoted passage ('…', "…", `…`) elided: an upstream that rejects a request
 * often quotes the request's own content, which is recorded only when the operator opts in.
 */
export function elideQuoted(text: string): string {
  return text.replace(/(["'`])(?:(?!\1)[^\n]){1,}?\1/g, "$1…$1");
}
