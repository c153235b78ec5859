// Route lookups see only the table's own entries, never what every object inherits.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RouteTable, loadRouteTable, resolveRoute } from "./routes.ts";

const inheritedNames = Object.getOwnPropertyNames(Object.prototype);

// Routing files written for loadRouteTable, in one directory removed when the tests end.
const fileDirectory = mkdtempSync(join(tmpdir(), "switchboard-routes-"));
afterAll(() => rmSync(fileDirectory, { recursive: true, force: true }));
let fileCount = 0;

function writeTable(table: unknown): string {
  const file = join(fileDirectory, `routes-${++fileCount}.json`);
  writeFileSync(file, JSON.stringify(table));
  return file;
}

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

describe("a route's hedge", () => {
  const providers = { a: { type: "simulated" }, b: { type: "simulated" } };

  it("takes a fixed or an adaptive delay, with a 10 % budget by default", () => {
    const table = RouteTable.parse({
      providers,
      routes: { m: { provider: "a", fallbacks: [{ provider: "b" }], hedge: { adaptive: {} } } },
    });
    expect(table.routes.m?.hedge).toEqual({
      adaptive: { percentile: 90, minMs: 50, maxMs: 2000 },
      budgetPercent: 10,
    });
  });

  it("is refused without a delay, or without a fallback to hedge on", () => {
    const noDelay = RouteTable.safeParse({
      providers,
      routes: { m: { provider: "a", fallbacks: [{ provider: "b" }], hedge: { budgetPercent: 5 } } },
    });
    expect(noDelay.error?.issues[0]?.message).toContain("afterMs");
    const noFallback = RouteTable.safeParse({ providers, routes: { m: { provider: "a", hedge: { afterMs: 100 } } } });
    expect(noFallback.error?.issues[0]?.message).toContain("fallbacks");
  });
});

describe("the native provider specs", () => {
  it("fill in the key variable, the default max_tokens and prompt caching off", () => {
    const table = RouteTable.parse({
      providers: { claude: { type: "anthropic" }, gemini: { type: "gemini", baseUrl: "http://127.0.0.1:9" } },
      routes: { "*": { provider: "claude", fallbacks: [{ provider: "gemini" }] } },
    });
    expect(table.providers).toEqual({
      claude: { type: "anthropic", apiKeyEnv: "ANTHROPIC_API_KEY", defaultMaxTokens: 4096, promptCaching: false },
      gemini: { type: "gemini", apiKeyEnv: "GEMINI_API_KEY", baseUrl: "http://127.0.0.1:9" },
    });
  });

  it("reject bad values", () => {
    for (const spec of [
      { type: "anthropic", defaultMaxTokens: 0 },
      { type: "anthropic", promptCaching: "yes" },
      { type: "gemini", baseUrl: "not a url" },
    ]) {
      const result = RouteTable.safeParse({ providers: { p: spec }, routes: { "*": { provider: "p" } } });
      expect(result.success, JSON.stringify(spec)).toBe(false);
    }
  });
});

describe("an openai provider's promptCacheKey", () => {
  const routes = { "*": { provider: "p" } };

  it("is on unless set to false", () => {
    const table = RouteTable.parse({
      providers: { p: { type: "openai" }, strict: { type: "openai", promptCacheKey: false } },
      routes,
    });
    expect(table.providers.p).toEqual({
      type: "openai",
      apiKeyEnv: "OPENAI_API_KEY",
      api: "chat_completions",
      promptCacheKey: true,
    });
    expect(table.providers.strict).toMatchObject({ type: "openai", promptCacheKey: false });
  });

  it("is on for the default table's pass-through provider", () => {
    const table = loadRouteTable({ OPENAI_API_KEY: "sk-test" });
    expect(table.providers.openai).toMatchObject({ type: "openai", promptCacheKey: true });
  });

  it("refuses a value other than true or false, naming the provider and what the field means", () => {
    for (const value of ["false", 0, null]) {
      const file = writeTable({ providers: { p: { type: "openai", promptCacheKey: value } }, routes });
      expect(() => loadRouteTable({ ROUTES_FILE: file }), JSON.stringify(value)).toThrow(
        "providers.p.promptCacheKey: must be true or false (false: this upstream does not take prompt_cache_key)",
      );
    }
  });
});

describe("a route's health", () => {
  const providers = { a: { type: "simulated" }, b: { type: "simulated" } };

  it("picks in order by default, or by latency when asked", () => {
    const table = RouteTable.parse({
      providers,
      routes: {
        ordered: { provider: "a", fallbacks: [{ provider: "b" }], health: {} },
        quickest: { provider: "a", fallbacks: [{ provider: "b" }], health: { pick: "latency" } },
      },
    });
    expect(table.routes.ordered?.health).toEqual({ failures: 3, coolDownMs: 5000, pick: "order" });
    expect(table.routes.quickest?.health?.pick).toBe("latency");
  });

  it("refuses a pick it does not know", () => {
    const result = RouteTable.safeParse({ providers, routes: { m: { provider: "a", health: { pick: "random" } } } });
    expect(result.success).toBe(false);
  });
});

describe("a field the routing table does not know", () => {
  const providers = { a: { type: "openai" }, b: { type: "simulated" } };

  function problemsOf(table: unknown): string {
    const file = writeTable(table);
    try {
      loadRouteTable({ ROUTES_FILE: file });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`${JSON.stringify(table)} was accepted`);
  }

  it("is refused on a provider, naming the provider, the field and the fields it knows", () => {
    expect(
      problemsOf({ providers: { a: { type: "openai", promptCacheKeys: false } }, routes: { "*": { provider: "a" } } }),
    ).toContain(
      'providers.a: unknown field "promptCacheKeys" (known fields: type, baseUrl, apiKeyEnv, api, promptCacheKey)',
    );
  });

  it("is refused when it is a field of another provider type", () => {
    for (const type of ["anthropic", "gemini"]) {
      const message = problemsOf({
        providers: { p: { type, promptCacheKey: false } },
        routes: { "*": { provider: "p" } },
      });
      expect(message, type).toContain(
        'providers.p: unknown field "promptCacheKey" (known fields: type, baseUrl, apiKeyEnv',
      );
    }
  });

  it("is refused on a route, a fallback and a route's nested settings, each at its own path", () => {
    const message = problemsOf({
      providers,
      routes: {
        m: {
          provider: "a",
          fallback: [{ provider: "b" }],
          fallbacks: [{ provider: "b", modle: "x" }],
          bufferWords: { afterMs: 0, txt: "..." },
          hedge: { afterMs: 100, budget: 5, adaptive: { percentil: 90 } },
          health: { failures: 3, coolDown: 1000 },
        },
      },
    });
    expect(message).toContain('routes.m: unknown field "fallback" (known fields: provider, model, fallbacks,');
    expect(message).toContain('routes.m.fallbacks.0: unknown field "modle" (known fields: provider, model)');
    expect(message).toContain('routes.m.bufferWords: unknown field "txt" (known fields: afterMs, text)');
    expect(message).toContain(
      'routes.m.hedge: unknown field "budget" (known fields: afterMs, adaptive, budgetPercent)',
    );
    expect(message).toContain(
      'routes.m.hedge.adaptive: unknown field "percentil" (known fields: percentile, minMs, maxMs)',
    );
    expect(message).toContain('routes.m.health: unknown field "coolDown" (known fields: failures, coolDownMs, pick)');
  });

  it("is refused at the top of the table, every unknown field named", () => {
    expect(problemsOf({ providers, routes: { "*": { provider: "b" } }, route: {}, default: "b" })).toContain(
      '(the table): unknown fields "route", "default" (known fields: providers, routes)',
    );
  });

  it("leaves every known field of each object accepted", () => {
    const table = RouteTable.parse({
      providers: {
        openai: {
          type: "openai",
          baseUrl: "http://127.0.0.1:9/v1",
          apiKeyEnv: "K",
          api: "responses",
          promptCacheKey: false,
        },
        claude: {
          type: "anthropic",
          baseUrl: "http://127.0.0.1:9",
          apiKeyEnv: "K",
          defaultMaxTokens: 10,
          promptCaching: true,
        },
        gemini: { type: "gemini", baseUrl: "http://127.0.0.1:9", apiKeyEnv: "K" },
        sim: { type: "simulated", firstTokenDelayMs: 0, tokenDelayMs: 0 },
      },
      routes: {
        m: {
          provider: "openai",
          model: "x",
          fallbacks: [{ provider: "claude", model: "y" }, { provider: "gemini" }],
          passVendorFields: true,
          passFields: ["reasoning_effort"],
          exposeUpstreamErrors: true,
          maxBodyBytes: 1000,
          fallbackSentence: "Sorry.",
          supersede: false,
          bufferWords: { afterMs: 10, text: "Hm... " },
          hedge: { afterMs: 100, adaptive: { percentile: 95, minMs: 10, maxMs: 100 }, budgetPercent: 5 },
          health: { failures: 2, coolDownMs: 100, pick: "latency" },
        },
        "*": { provider: "sim" },
      },
    });
    expect(Object.keys(table.providers)).toEqual(["openai", "claude", "gemini", "sim"]);
    expect(table.routes.m?.hedge?.adaptive?.percentile).toBe(95);
  });
});
