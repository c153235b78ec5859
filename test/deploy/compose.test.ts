// Issue 7, acceptance 2: docker-compose.yml matches the code. No Docker engine runs here, so the
// file is read and held to the services' configuration schemas, ports and entry points.
import { describe, expect, it } from "vitest";
import { loadIngressConfig } from "@switchboard/ingress/config";
import { loadWorkerConfig } from "@switchboard/worker/config";
import {
  envFileNames,
  serviceReads,
  interpolatedNames,
  loadCompose,
  loadDockerStages,
  readRepoFile,
  stageChain,
  effective,
  execForm,
  serviceOfCommand,
  withDefaults,
  type ComposeService,
  type ServiceName,
} from "../support/deploy-files.ts";

const compose = loadCompose();
const stages = loadDockerStages();

/** The program a compose service runs: its command, else its image target's CMD. */
function programOf(service: ComposeService): ServiceName {
  if (service.command) return serviceOfCommand(service.command.at(-1)!);
  const target = service.build?.target;
  if (!target) throw new Error("a Switchboard service needs a build target or a command");
  return serviceOfCommand(execForm(effective(stageChain(stages, target), "CMD")!).at(-1)!);
}

function environmentWithDefaults(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([name, value]) => [name, withDefaults(String(value))]),
  );
}

const switchboardServices = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

describe("docker-compose.yml", () => {
  it("has Redis, the ingress, the worker and (in the demo profile) the mock upstream", () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(["redis", "ingress", "worker", "mock-upstream"]),
    );
    expect(programOf(compose.services.ingress!)).toBe("ingress");
    expect(programOf(compose.services.worker!)).toBe("worker");
    expect(programOf(compose.services["mock-upstream"]!)).toBe("mock-upstream");
    expect(compose.services["mock-upstream"]!.profiles).toEqual(["demo"]);
    // A plain `docker compose up` starts the rest.
    for (const name of ["redis", "ingress", "worker"]) expect(compose.services[name]!.profiles).toBeUndefined();
  });

  it("sets only variables the service reads", () => {
    for (const [name, service] of switchboardServices) {
      const unread = Object.keys(service.environment ?? {}).filter(
        (variable) => !serviceReads(programOf(service), variable),
      );
      expect(unread, `${name} sets variables it does not read`).toEqual([]);
    }
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: names compose's ${VAR} syntax, not a template
  it("sets values the services' schemas accept (with every ${VAR} at its default)", () => {
    expect(() => loadIngressConfig(environmentWithDefaults(compose.services.ingress!))).not.toThrow();
    expect(() => loadWorkerConfig(environmentWithDefaults(compose.services.worker!))).not.toThrow();
  });

  it("gives the ingress and the worker the same Redis, key prefix and routing inputs", () => {
    const ingress = compose.services.ingress!.environment!;
    const worker = compose.services.worker!.environment!;
    for (const name of ["REDIS_URL", "REDIS_CLUSTER", "REDIS_KEY_PREFIX", "ROUTES_FILE", "OPENAI_API_KEY"])
      expect(ingress[name], name).toEqual(worker[name]);
    expect(new URL(String(ingress.REDIS_URL)).hostname).toBe("redis");
    expect(compose.services.redis!.command).toEqual(expect.arrayContaining(["--maxmemory-policy", "noeviction"]));
  });

  it("publishes the ingress on the port it listens on, and starts it once Redis answers", () => {
    const ingress = compose.services.ingress!;
    const port = loadIngressConfig(environmentWithDefaults(ingress)).PORT;
    expect(ingress.ports).toHaveLength(1);
    expect(withDefaults(ingress.ports![0]!).split(":").at(-1)).toBe(String(port));
    expect(effective(stageChain(stages, "ingress"), "EXPOSE")).toBe(String(port));
    expect(ingress.depends_on?.redis?.condition).toBe("service_healthy");
    expect(compose.services.redis!.healthcheck?.test).toBeDefined();
  });

  it("lets the worker scale: no container name, no host port", () => {
    const worker = compose.services.worker!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.depends_on?.redis?.condition).toBe("service_healthy");
  });

  it("makes the mock upstream reachable from the workers", () => {
    const mock = compose.services["mock-upstream"]!;
    expect(mock.environment?.MOCK_HOST).toBe("0.0.0.0");
    expect(readRepoFile(".env.example")).toContain(
      `OPENAI_BASE_URL=http://mock-upstream:${mock.environment?.MOCK_PORT}/v1`,
    );
  });

  it("gives each service longer to stop than its own shutdown grace", () => {
    for (const [name, graceVariable] of [
      ["ingress", "SHUTDOWN_GRACE_MS"],
      ["worker", "WORKER_SHUTDOWN_GRACE_MS"],
    ] as const) {
      const service = compose.services[name]!;
      const graceMs = Number(withDefaults(String(service.environment?.[graceVariable] ?? "10000")));
      const stopSeconds = Number(/^(\d+)s$/.exec(service.stop_grace_period ?? "10s")?.[1]);
      expect(stopSeconds * 1000, name).toBeGreaterThan(graceMs);
    }
  });

  it("builds every Switchboard service from the Dockerfile's matching target", () => {
    for (const [name, service] of switchboardServices) {
      expect(service.build?.dockerfile).toBe("infra/docker/Dockerfile");
      expect(
        stages.some((stage) => stage.name === service.build?.target),
        name,
      ).toBe(true);
    }
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: names compose's ${VAR} syntax, not a template
  it("documents every ${VAR} it uses in .env.example, and .env.example has nothing else", () => {
    const used = new Set(interpolatedNames(readRepoFile("docker-compose.yml")));
    const documented = new Set(envFileNames(readRepoFile(".env.example")));
    expect([...used].filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => !used.has(name))).toEqual([]);
  });
});
