// Reads the mock's settings from environment variables through @switchboard/config's loader,
// failing loudly with the variable name, the bad value and what is expected.
import { z } from "zod";
import { type EnvSource, integer, loadConfig as loadEnv } from "@switchboard/config";
import { maxDelayMs, maxTokens } from "./options.ts";

function milliseconds(defaultValue: number) {
  const expected = `expected a number of milliseconds from 0 to ${maxDelayMs}`;
  return z.coerce
    .number({ message: expected })
    .min(0, { message: expected })
    .max(maxDelayMs, { message: expected })
    .default(defaultValue);
}

/** Exported for the deployment tests, which check docker-compose.yml and infra/k8s against it. */
export const MockEnv = z.object({
  MOCK_HOST: z.string().trim().default("127.0.0.1"),
  MOCK_PORT: integer(4010, { min: 0, max: 65535 }),
  MOCK_FIRST_TOKEN_DELAY_MS: milliseconds(0),
  MOCK_TOKEN_DELAY_MS: milliseconds(0),
  MOCK_TOKENS: integer(20, { min: 0, max: maxTokens }),
  /** Calls kept in GET /_mock/stats. */
  MOCK_RECENT_LIMIT: integer(200, { min: 0, max: 1_000_000 }),
});

export interface MockConfig {
  host: string;
  port: number;
  firstTokenDelayMs: number;
  tokenDelayMs: number;
  tokens: number;
  /** Calls kept in GET /_mock/stats. */
  recentLimit: number;
}

export function loadConfig(env: EnvSource = process.env): MockConfig {
  const read = loadEnv("mock-upstream", MockEnv, env);
  return {
    host: read.MOCK_HOST,
    port: read.MOCK_PORT,
    firstTokenDelayMs: read.MOCK_FIRST_TOKEN_DELAY_MS,
    tokenDelayMs: read.MOCK_TOKEN_DELAY_MS,
    tokens: read.MOCK_TOKENS,
    recentLimit: read.MOCK_RECENT_LIMIT,
  };
}
