// Every service reads its environment through one zod schema and this function. It fails fast,
// listing every bad variable with what was expected, so the fix is obvious from the message.
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
    const got = issue.path.length > 0 ? cleaned[String(issue.path[0])] : undefined;
    return `${name}: ${issue.message}${got === undefined ? "" : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new ConfigError(service, problems);
}
