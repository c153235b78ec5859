// Every service reads its environment through one zod schema and this function. It fails fast,
// listing every bad variable with what was expected, so the fix is obvious from the message. The
// message goes to logs: it never quotes a secret, and quotes a URL without its credentials.
import { redactUrl } from "@switchboard/protocol";
import type { z } from "zod";

export class ConfigError extends Error {
  constructor(service: string, problems: string[]) {
    super(
      `${service}: invalid configuration\n${problems.map((problem) => `  - ${problem}`).join("\n")}\nSee the configuration table in README.md.`,
    );
    this.name = "ConfigError";
  }
}

export type EnvSource = Record<string, string | undefined>;

export function loadConfig<Schema extends z.ZodType>(
  service: string,
  schema: Schema,
  source: EnvSource,
): z.infer<Schema> {
  // Empty strings count as unset, as in most twelve-factor tooling.
  const cleaned: EnvSource = {};
  for (const [name, value] of Object.entries(source)) if (value !== undefined && value !== "") cleaned[name] = value;
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    const variable = String(issue.path[0] ?? "");
    const got = issue.path.length > 0 ? cleaned[variable] : undefined;
    return `${name}: ${issue.message}${got === undefined ? "" : ` ${quoteValue(variable, got)}`}`;
  });
  throw new ConfigError(service, problems);
}

/**
 * A variable named for a key, a token or a password: API_KEYS, ADMIN_API_KEYS, METRICS_TOKEN,
 * OPENAI_API_KEY… A plural TOKENS is a count of model tokens (MOCK_TOKENS, MAX_TOKENS), not a secret.
 */
const secretVariable = /(?:KEYS?|TOKEN|SECRETS?|PASSWORDS?|CREDENTIALS?)$/i;

/** What a problem quotes of the value: nothing of a secret, a URL's credentials redacted. */
function quoteValue(variable: string, value: string): string {
  if (secretVariable.test(variable)) return "(value not shown: it is a secret)";
  return `(got ${JSON.stringify(redactUrl(value))})`;
}
