// Route lookups see only the table's own entries, never what every object inherits.
import { describe, expect, it } from "vitest";
import { RouteTable, resolveRoute } from "./routes.ts";

const inheritedNames = Object.getOwnPropertyNames(Object.prototype);

describe("resolveRoute", () => {
  const table = RouteTable.parse({
    providers: { sim: { type: "simulated" } },
    routes: { "switchboard-sim": { provider: "sim" } },
  });
  const withWildcard = RouteTable.parse({
    providers: { sim: { type: "simulated" }, other: { type: "simulated" } },
    routes: { "switchboard-sim": { provider: "sim" }, "*": { provider: "other" } },
  });

  it("finds a listed model", () => {
    expect(resolveRoute(table, "switchboard-sim")?.provider).toBe("sim");
  });

  it("finds no route for any name an object inherits", () => {
    expect(inheritedNames).toEqual(expect.arrayContaining(["constructor", "__proto__", "toString"]));
    for (const name of inheritedNames) expect(resolveRoute(table, name), name).toBeUndefined();
  });

  it("sends every inherited name to the wildcard route when there is one", () => {
    for (const name of inheritedNames) expect(resolveRoute(withWildcard, name)?.provider, name).toBe("other");
  });
});
