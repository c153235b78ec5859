// Reads the deployment files (docker-compose.yml, .env.example, infra/k8s, the Dockerfile) and
// knows which environment variables each service reads, so the deploy tests can hold the files to
// the code. No Docker engine is needed: what only a build can show is listed in README.md.
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { IngressEnv } from "@switchboard/ingress/config";
import { MockEnv } from "@switchboard/mock-upstream/config";
import { WorkerEnv } from "@switchboard/worker/config";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

export function repoPath(path: string): string {
  return `${repoRoot}${path}`;
}

export function readRepoFile(path: string): string {
  return readFileSync(repoPath(path), "utf8");
}

export type ServiceName = "ingress" | "worker" | "mock-upstream";

/**
 * Every variable a service reads: its config schema, plus the ones read beside it. The routing
 * table reads ROUTES_FILE and OPENAI_API_KEY in both services (packages/config/src/routes.ts); the
 * worker's providers read OPENAI_BASE_URL (packages/providers/src/provider-registry.ts); the mock
 * reads its schema's MOCK_* (services/mock-upstream/src/config.ts); the container health check reads PORT,
 * MOCK_PORT and WORKER_HEALTH_FILE, all of which the services read too.
 */
function envNamesRead(service: ServiceName): Set<string> {
  switch (service) {
    case "ingress":
      return new Set([...Object.keys(IngressEnv.shape), "ROUTES_FILE", "OPENAI_API_KEY"]);
    case "worker":
      return new Set([...Object.keys(WorkerEnv.shape), "ROUTES_FILE", "OPENAI_API_KEY", "OPENAI_BASE_URL"]);
    case "mock-upstream":
      return new Set(Object.keys(MockEnv.shape));
  }
}

/**
 * Does the service read a variable? Its own names (envNamesRead), plus the standard OTEL_*
 * variables when it (or a workspace package it uses) depends on an OpenTelemetry SDK, which reads
 * them itself.
 */
export function serviceReads(service: ServiceName, name: string): boolean {
  return envNamesRead(service).has(name) || (/^OTEL_[A-Z0-9_]+$/.test(name) && usesOpenTelemetrySdk(service));
}

function usesOpenTelemetrySdk(service: ServiceName): boolean {
  const seen = new Set<string>();
  const visit = (manifestPath: string): boolean => {
    if (seen.has(manifestPath)) return false;
    seen.add(manifestPath);
    const manifest = JSON.parse(readRepoFile(manifestPath)) as { dependencies?: Record<string, string> };
    return Object.keys(manifest.dependencies ?? {}).some(
      (dependency) =>
        dependency.startsWith("@opentelemetry/sdk-") ||
        (dependency.startsWith("@switchboard/") &&
          visit(`packages/${dependency.slice("@switchboard/".length)}/package.json`)),
    );
  };
  return visit(`services/${service}/package.json`);
}

/** The program a container runs, from its command (`services/<name>/src/main.ts`). */
export function serviceOfCommand(command: string): ServiceName {
  const match = /^services\/(ingress|worker|mock-upstream)\/src\/main\.ts$/.exec(command);
  if (!match) throw new Error(`not a service entry point: ${command}`);
  return match[1] as ServiceName;
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  profiles?: string[];
  container_name?: string;
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
}

export function loadCompose(): { services: Record<string, ComposeService> } {
  return parse(readRepoFile("docker-compose.yml")) as { services: Record<string, ComposeService> };
}

/** `${NAME:-default}` → default, `${NAME}` → "" (what compose substitutes with NAME unset). */
export function withDefaults(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g,
    (_match, _name: string, fallback: string | undefined) => fallback ?? "",
  );
}

export function interpolatedNames(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((match) => match[1]!);
}

/** NAME=value lines of an env file (comments and blank lines skipped). */
export function envFileNames(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => /^[A-Z0-9_]+=/.test(line))
    .map((line) => line.slice(0, line.indexOf("=")));
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  /** Manifests are free-form YAML; the tests read the fields they check. */
  // biome-ignore lint/suspicious/noExplicitAny: free-form YAML, read field by field by the tests
  spec: any;
}

export function loadKustomization(): { resources: string[]; images: Array<{ name: string }> } {
  return parse(readRepoFile("infra/k8s/kustomization.yaml")) as {
    resources: string[];
    images: Array<{ name: string }>;
  };
}

export function k8sFiles(): string[] {
  return readdirSync(repoPath("infra/k8s")).filter((file) => file.endsWith(".yaml") && file !== "kustomization.yaml");
}

export function loadK8sObjects(): K8sObject[] {
  return loadKustomization().resources.flatMap((file) =>
    parseAllDocuments(readRepoFile(`infra/k8s/${file}`)).map((document) => document.toJS() as K8sObject),
  );
}

export interface DockerStage {
  from: string;
  name: string | undefined;
  /** Instructions of the stage, e.g. { instruction: "COPY", args: "packages ./packages" }. */
  lines: Array<{ instruction: string; args: string }>;
}

/** The Dockerfile's stages, with continuation lines joined and comments dropped. */
export function loadDockerStages(path = "infra/docker/Dockerfile"): DockerStage[] {
  const text = readRepoFile(path).replace(/\\\n/g, " ");
  const stages: DockerStage[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [instruction = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (instruction.toUpperCase() === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? args, name: match?.[2], lines: [] });
    } else {
      stages.at(-1)?.lines.push({ instruction: instruction.toUpperCase(), args });
    }
  }
  return stages;
}

/** A stage and the stages it is built FROM, nearest first. */
export function stageChain(stages: DockerStage[], name: string): DockerStage[] {
  const chain: DockerStage[] = [];
  let stage = stages.find((candidate) => candidate.name === name);
  while (stage) {
    chain.push(stage);
    const from = stage.from;
    stage = stages.find((candidate) => candidate.name === from);
  }
  return chain;
}

/** The last value of an instruction in a stage chain (the one in effect), or undefined. */
export function effective(chain: DockerStage[], instruction: string): string | undefined {
  for (const stage of chain) {
    const line = stage.lines.findLast((entry) => entry.instruction === instruction);
    if (line) return line.args;
  }
  return undefined;
}

/** An exec-form JSON array (CMD ["a","b"]) as its strings. */
export function execForm(args: string): string[] {
  return JSON.parse(args) as string[];
}
