// Reads the mock's settings from environment variables, failing loudly with
// the variable name, the bad value and what is expected.

import { maxDelayMs, maxTokens } from "./options.ts";

export interface MockConfig {
  host: string;
  port: number;
  firstTokenDelayMs: number;
  tokenDelayMs: number;
  tokens: number;
  /** Calls kept in GET /_mock/stats. */
  recentLimit: number;
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > max) {
    throw new Error(`Invalid ${name}=${JSON.stringify(raw)}: expected an integer from 0 to ${max}`);
  }
  return value;
}

function milliseconds(env: Env, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value > maxDelayMs) {
    throw new Error(
      `Invalid ${name}=${JSON.stringify(raw)}: expected a number of milliseconds from 0 to ${maxDelayMs}`,
    );
  }
  return value;
}

export function loadConfig(env: Env = process.env): MockConfig {
  return {
    host: read(env, "MOCK_HOST") ?? "127.0.0.1",
    port: integer(env, "MOCK_PORT", 4010, 65535),
    firstTokenDelayMs: milliseconds(env, "MOCK_FIRST_TOKEN_DELAY_MS", 0),
    tokenDelayMs: milliseconds(env, "MOCK_TOKEN_DELAY_MS", 0),
    tokens: integer(env, "MOCK_TOKENS", 20, maxTokens),
    recentLimit: integer(env, "MOCK_RECENT_LIMIT", 200, 1_000_000),
  };
}
