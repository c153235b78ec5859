// The registry of open requests: failing them all, and waiting for it to empty (shutdown).
import { describe, expect, it } from "vitest";
import { GatewayError } from "@switchboard/protocol";
import { OpenRequests } from "./open-requests.ts";

describe("OpenRequests", () => {
  it("fails every open request and resolves the wait when the last one ends", async () => {
    const open = new OpenRequests();
    const failed: string[] = [];
    for (const id of ["a", "b"])
      open.add(id, {
        fail: (error) => {
          failed.push(`${id}:${error.code}`);
          open.delete(id);
        },
      });
    const emptied = open.waitUntilEmpty(10_000);
    expect(open.failAll(new GatewayError("shutting_down"))).toBe(2);
    expect(failed).toEqual(["a:shutting_down", "b:shutting_down"]);
    await expect(emptied).resolves.toBe(true);
  });

  it("reports a wait that timed out", async () => {
    const open = new OpenRequests();
    open.add("stuck", { fail: () => {} });
    await expect(open.waitUntilEmpty(10)).resolves.toBe(false);
  });
});
