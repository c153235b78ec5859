// A whole Switchboard stack for one test file: N ingress and M worker processes sharing the global
// setup's Redis under a key prefix of their own, optionally behind the mock upstream (routesTo).
// A thin wrapper over the launcher (launcher.ts); stack-test.ts gives the same stack as a fixture.
import { inject } from "vitest";
import { launchStack, uniquePrefix, type LaunchedStack } from "./launcher.ts";

export { routesTo, routesWithFallback, uniquePrefix } from "./launcher.ts";

export interface StackOptions {
  ingresses?: number;
  workers?: number;
  /** A routing table (written to a file for ROUTES_FILE); default: the environment's default table. */
  routes?: unknown;
  env?: Record<string, string>;
  ingressEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** Another Redis than the global setup's (e.g. a private Redis Cluster, with env REDIS_CLUSTER). */
  redisUrl?: string;
}

export type Stack = LaunchedStack;

export function startStack(label: string, options: StackOptions = {}): Promise<Stack> {
  const { redisUrl, ...rest } = options;
  return launchStack({ ...rest, redisUrl: redisUrl ?? inject("redisUrl"), prefix: uniquePrefix(label) });
}
