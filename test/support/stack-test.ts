// The stack as a vitest fixture: `stackTest(label, options)` is vitest's `test` with `mock` (the mock
// upstream, in this process), `mockUrl` (its base URL, listening) and `stack` (ingress and worker
// processes routed to it, on a unique key prefix), started once per file in its first test and
// stopped after its last. A failed test prints the tail of the stack's logs.
import { createMockUpstream, type MockUpstreamOptions } from "@switchboard/mock-upstream";
import { test, vi } from "vitest";
import { routesTo, startStack, type Stack, type StackOptions } from "./stack.ts";

export interface StackTestOptions extends Omit<StackOptions, "routes"> {
  /** The mock upstream's settings (tokens, delays, …). */
  mock?: MockUpstreamOptions;
  /** The routing table, given the mock's base URL (default: routesTo it); null: the environment's default table. */
  routes?: ((mockUrl: string) => unknown) | null;
}

const logLinesOnFailure = 60;
/** The file's first test carries the stack's start-up (each process may take 25 s on a loaded machine). */
const testTimeoutMs = 60_000;

export function stackTest(label: string, options: StackTestOptions = {}) {
  const { mock: mockOptions, routes = routesTo, ...stackOptions } = options;
  let startFailure: unknown;
  vi.setConfig({ testTimeout: testTimeoutMs });
  return (
    test
      // Created with the test API (not listening yet), so every test of the file sees the same one.
      .extend("mock", { scope: "file" }, createMockUpstream(mockOptions))
      .extend("mockUrl", { scope: "file" }, async ({ mock }, { onCleanup }): Promise<string> => {
        const { url } = await mock.listen(0);
        onCleanup(() => mock.close());
        return url;
      })
      .extend("stack", { scope: "file" }, async ({ mockUrl }, { onCleanup }): Promise<Stack> => {
        // vitest sets a failed file fixture up again for the next test: fail those at once instead.
        if (startFailure) throw startFailure;
        const stack = await startStack(label, {
          ...stackOptions,
          ...(routes === null ? {} : { routes: routes(mockUrl) }),
        }).catch((error: unknown) => {
          startFailure = error;
          throw error;
        });
        onCleanup(() => stack.stop());
        return stack;
      })
      .extend("stackLogs", { auto: true }, ({ stack, onTestFailed }) => {
        onTestFailed(() => {
          const tail = stack.logs().split("\n").slice(-logLinesOnFailure).join("\n");
          process.stderr.write(`last ${logLinesOnFailure} log lines of the stack "${label}":\n${tail}\n`);
        });
      })
  );
}
