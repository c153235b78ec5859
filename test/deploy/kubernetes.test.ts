// Issue 7, acceptance 2: the Kubernetes manifests (infra/k8s, kustomize) match the code: variables
// the services read and values their schemas accept, the ports and probe paths the ingress serves,
// selectors that select, and the Redis keys KEDA reads being the ones BullMQ writes.
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { jobCatalog } from "@switchboard/protocol";
import { relayKeys } from "@switchboard/relay";
import { loadIngressConfig } from "@switchboard/ingress/config";
import { loadWorkerConfig } from "@switchboard/worker/config";
import {
  k8sFiles,
  serviceReads,
  loadK8sObjects,
  loadKustomization,
  readRepoFile,
  repoPath,
  type K8sObject,
  type ServiceName,
} from "../support/deploy-files.ts";

const kustomization = loadKustomization();
const objects = loadK8sObjects();

function find(kind: string, name: string): K8sObject {
  const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name} in infra/k8s`);
  return object;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

const deployments: Array<[ServiceName, K8sObject]> = [
  ["ingress", find("Deployment", "switchboard-ingress")],
  ["worker", find("Deployment", "switchboard-worker")],
];

function container(deployment: K8sObject) {
  return deployment.spec.template.spec.containers[0];
}

/** The container's environment, secrets replaced by plausible values. */
function environment(deployment: K8sObject): Record<string, string> {
  const placeholders: Record<string, string> = { REDIS_URL: "redis://redis:6379", OPENAI_API_KEY: "sk-placeholder" };
  return Object.fromEntries(
    (container(deployment).env as EnvVar[]).map((variable) => [
      variable.name,
      variable.value ?? placeholders[variable.name] ?? "x",
    ]),
  );
}

describe("infra/k8s", () => {
  it("lists every manifest in the kustomization, and every listed one exists", () => {
    expect([...kustomization.resources].sort()).toEqual(k8sFiles().sort());
    expect(objects.map((object) => object.kind).sort()).toEqual([
      "Deployment",
      "Deployment",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
      "PodDisruptionBudget",
      "ScaledObject",
      "Service",
    ]);
  });

  it("sets only variables the services read, with values their schemas accept", () => {
    for (const [service, deployment] of deployments) {
      const names = (container(deployment).env as EnvVar[]).map((variable) => variable.name);
      expect(
        names.filter((name) => !serviceReads(service, name)),
        service,
      ).toEqual([]);
      expect(new Set(names).size, `${service}: duplicate variables`).toBe(names.length);
    }
    expect(() => loadIngressConfig(environment(deployments[0]![1]))).not.toThrow();
    expect(() => loadWorkerConfig(environment(deployments[1]![1]))).not.toThrow();
  });

  it("gives the ingress and the worker the same Redis, key prefix and routing inputs", () => {
    const [ingress, worker] = deployments.map(([, deployment]) => container(deployment).env as EnvVar[]);
    for (const name of ["REDIS_URL", "REDIS_CLUSTER", "REDIS_KEY_PREFIX", "ROUTES_FILE", "OPENAI_API_KEY"]) {
      expect(
        ingress!.find((variable) => variable.name === name),
        name,
      ).toEqual(worker!.find((variable) => variable.name === name));
    }
  });

  it("probes the ingress on /ready and /health at the port it listens on, and the Service targets it", () => {
    const ingress = container(find("Deployment", "switchboard-ingress"));
    const port = loadIngressConfig(environment(find("Deployment", "switchboard-ingress"))).PORT;
    const http = ingress.ports.find((entry: { name: string }) => entry.name === ingress.readinessProbe.httpGet.port);
    expect(http.containerPort).toBe(port);
    expect(ingress.readinessProbe.httpGet.path).toBe("/ready");
    expect(ingress.livenessProbe.httpGet.path).toBe("/health");
    expect(ingress.livenessProbe.httpGet.port).toBe(http.name);
    const app = readRepoFile("services/ingress/src/app.ts");
    expect(app).toContain('app.get("/ready"');
    expect(app).toContain('app.get("/health"');
    const service = find("Service", "switchboard-ingress");
    expect(service.spec.ports[0].targetPort).toBe(http.name);
  });

  it("checks the worker's liveness with the image's health check, on a writable health file", () => {
    const worker = container(find("Deployment", "switchboard-worker"));
    const command: string[] = worker.livenessProbe.exec.command;
    expect(command).toEqual(["node", "scripts/healthcheck.ts", "worker"]);
    expect(existsSync(repoPath(command[1]!))).toBe(true);
    const healthFile = environment(find("Deployment", "switchboard-worker")).WORKER_HEALTH_FILE!;
    expect(
      worker.volumeMounts.some((mount: { mountPath: string }) => healthFile.startsWith(`${mount.mountPath}/`)),
    ).toBe(true);
  });

  it("selects its own pods: Services, PodDisruptionBudgets, the HPA and the ScaledObject", () => {
    const labelsOf = (name: string) => find("Deployment", name).spec.template.metadata.labels as Record<string, string>;
    for (const [, deployment] of deployments)
      expect(deployment.spec.selector.matchLabels).toEqual(labelsOf(deployment.metadata.name));
    expect(find("Service", "switchboard-ingress").spec.selector).toEqual(labelsOf("switchboard-ingress"));
    expect(find("PodDisruptionBudget", "switchboard-ingress").spec.selector.matchLabels).toEqual(
      labelsOf("switchboard-ingress"),
    );
    expect(find("PodDisruptionBudget", "switchboard-worker").spec.selector.matchLabels).toEqual(
      labelsOf("switchboard-worker"),
    );
    const hpa = find("HorizontalPodAutoscaler", "switchboard-ingress").spec;
    expect(hpa.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "switchboard-ingress" });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
    expect(find("ScaledObject", "switchboard-worker").spec.scaleTargetRef.name).toBe("switchboard-worker");
  });

  it("scales workers on the BullMQ lists the worker's queue really uses", () => {
    const prefix = environment(find("Deployment", "switchboard-worker")).REDIS_KEY_PREFIX!;
    const queue = `${relayKeys(prefix).queuePrefix}:${jobCatalog.chat.queue}`;
    const scaled = find("ScaledObject", "switchboard-worker").spec;
    const lists = (scaled.triggers as Array<{ type: string; metadata: { listName: string } }>).map(
      (trigger) => trigger.metadata.listName,
    );
    expect(lists.sort()).toEqual([`${queue}:active`, `${queue}:wait`]);
    // Never zero workers: the ingress is not ready without one.
    expect(scaled.minReplicaCount).toBeGreaterThanOrEqual(1);
  });

  it("runs unprivileged, and gives each pod longer to stop than its shutdown grace", () => {
    for (const [service, deployment] of deployments) {
      const pod = deployment.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot, service).toBe(true);
      expect(pod.securityContext.runAsUser, service).not.toBe(0);
      expect(container(deployment).securityContext.allowPrivilegeEscalation, service).toBe(false);
      const env = environment(deployment);
      const graceMs =
        service === "ingress"
          ? loadIngressConfig(env).SHUTDOWN_GRACE_MS
          : loadWorkerConfig(env).WORKER_SHUTDOWN_GRACE_MS;
      expect(pod.terminationGracePeriodSeconds * 1000, service).toBeGreaterThan(graceMs);
    }
  });

  it("uses the images the kustomization names, one per service target of the Dockerfile", () => {
    const images = kustomization.images.map((image) => image.name).sort();
    expect(deployments.map(([, deployment]) => container(deployment).image).sort()).toEqual(images);
    for (const [service, deployment] of deployments) expect(container(deployment).image).toBe(`switchboard-${service}`);
  });
});
