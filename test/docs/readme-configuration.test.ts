// The README's configuration table is the documentation of the services' config schemas: every
// variable a schema reads must have a row, naming the service that reads it.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ingressVariables } from "@switchboard/ingress/config";
import { workerVariables } from "@switchboard/worker/config";

function configurationRows(): Map<string, string> {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.split("\n## Configuration")[1]?.split("\n## ")[0] ?? "";
  const rows = new Map<string, string>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    const name = /^`([A-Z0-9_]+)`$/.exec(cells[1] ?? "")?.[1];
    if (name) rows.set(name, cells[2] ?? "");
  }
  return rows;
}

describe("the README configuration table", () => {
  const rows = configurationRows();

  it("is found", () => {
    expect(rows.size).toBeGreaterThan(10);
  });

  for (const [service, variables] of [
    ["ingress", ingressVariables],
    ["worker", workerVariables],
  ] as const) {
    it(`documents every variable the ${service} schema reads, as read by the ${service}`, () => {
      const missing = variables.filter((name) => !rows.has(name));
      expect(missing, `add rows for these to the README configuration table`).toEqual([]);
      for (const name of variables) expect([service, "all"], name).toContain(rows.get(name));
    });
  }
});
