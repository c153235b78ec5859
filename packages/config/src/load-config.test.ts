// A configuration error goes to logs: it names each bad variable and what is wrong, quotes an
// ordinary value, never a secret, and a URL only without its credentials.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { redisUrl } from "./env-types.ts";
import { ConfigError, loadConfig } from "./load-config.ts";

const Env = z.object({
  REDIS_URL: redisUrl(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url({ message: "expected a URL" }).optional(),
  METRICS_TOKEN: z.string().min(16, "METRICS_TOKEN must be at least 16 characters").optional(),
  API_KEYS: z
    .string()
    .regex(/^[^\s]+$/, { message: "expected comma-separated keys without spaces" })
    .optional(),
  ADMIN_API_KEYS: z.string().min(20, { message: "expected keys of 20 characters or more" }).optional(),
  OPENAI_API_KEY: z.string().startsWith("sk-", { message: "expected a key starting with sk-" }).optional(),
  PORT: z.coerce.number({ message: "expected a whole number" }).int({ message: "expected a whole number" }).optional(),
});

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig("test-service", Env, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(env)} was accepted`);
}

describe("a configuration error", () => {
  it("names a secret variable and what is wrong, never its value", () => {
    const message = errorOf({
      METRICS_TOKEN: "tok-hunter2",
      API_KEYS: "key-one, key-two",
      ADMIN_API_KEYS: "adm-hunter3",
      OPENAI_API_KEY: "proj-hunter4",
    });
    for (const secret of ["tok-hunter2", "key-one", "key-two", "adm-hunter3", "proj-hunter4", "hunter"])
      expect(message).not.toContain(secret);
    expect(message).toContain(
      "METRICS_TOKEN: METRICS_TOKEN must be at least 16 characters (value not shown: it is a secret)",
    );
    expect(message).toContain(
      "API_KEYS: expected comma-separated keys without spaces (value not shown: it is a secret)",
    );
    expect(message).toContain(
      "ADMIN_API_KEYS: expected keys of 20 characters or more (value not shown: it is a secret)",
    );
    expect(message).toContain("OPENAI_API_KEY: expected a key starting with sk- (value not shown: it is a secret)");
  });

  it("quotes a URL without its credentials, whole or malformed", () => {
    for (const [url, shown] of [
      ["http://user:hunter2@cache.example:6379", "http://***@cache.example:6379"],
      ["redis:/:hunter2@cache.example:6379", "redis:/***@cache.example:6379"],
      ["user:hunter2@cache.example:6379", "user:***@cache.example:6379"],
      ["cache.example:6379?password=hunter2", "cache.example:6379?password=***"],
    ]) {
      const message = errorOf({ REDIS_URL: url as string });
      expect(message, url).not.toContain("hunter2");
      expect(message, url).toContain(`REDIS_URL: expected a redis:// or rediss:// URL`);
      expect(message, url).toContain(`(got "${shown}")`);
    }
    const message = errorOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "//collector:4318/?token=hunter2" });
    expect(message).not.toContain("hunter2");
    expect(message).toContain('OTEL_EXPORTER_OTLP_ENDPOINT: expected a URL (got "//collector:4318/?token=***")');
  });

  it("quotes an ordinary value as it is", () => {
    expect(errorOf({ PORT: "eighty" })).toContain('PORT: expected a whole number (got "eighty")');
  });
});
