// Dependencies point one way: packages/protocol is pure (zod and its own files only), packages
// never import services, and services never import each other. Read from the sources themselves.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

function sourceFiles(directory: string): string[] {
  return readdirSync(join(root, directory), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+["']([^"']+)["']/gm)].map((match) => match[1]!);
}

const services = readdirSync(join(root, "services"));
const packages = readdirSync(join(root, "packages"));

describe("dependency direction", () => {
  it("keeps packages/protocol pure: zod and its own files, no I/O", () => {
    const offending = sourceFiles("packages/protocol/src").flatMap((file) =>
      importsOf(file)
        .filter((specifier) => specifier !== "zod" && !specifier.startsWith("./"))
        .map((specifier) => `${file} -> ${specifier}`),
    );
    expect(offending).toEqual([]);
  });

  it("never lets a package import a service", () => {
    const offending = packages.flatMap((name) =>
      sourceFiles(`packages/${name}/src`).flatMap((file) =>
        importsOf(file)
          .filter((specifier) =>
            services.some(
              (service) => specifier === `@switchboard/${service}` || specifier.includes(`services/${service}`),
            ),
          )
          .map((specifier) => `${file} -> ${specifier}`),
      ),
    );
    expect(offending).toEqual([]);
  });

  it("never lets a service import another service", () => {
    const offending = services.flatMap((name) =>
      sourceFiles(`services/${name}/src`).flatMap((file) =>
        importsOf(file)
          .filter((specifier) =>
            services.some(
              (other) => other !== name && (specifier === `@switchboard/${other}` || specifier.includes(`/${other}/`)),
            ),
          )
          .map((specifier) => `${file} -> ${specifier}`),
      ),
    );
    expect(offending).toEqual([]);
  });

  it("finds the imports it checks", () => {
    expect(importsOf("services/ingress/src/app.ts")).toContain("@switchboard/protocol");
  });
});
