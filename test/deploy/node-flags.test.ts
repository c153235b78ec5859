// The ingress runs with the same node flags wherever it starts: the image (and so docker-compose.yml
// and infra/k8s, which run its CMD), `npm run start:ingress`, `npm start` (scripts/start.ts) and the
// tests' and benchmarks' process helper. The flag caps V8's young generation (docs/architecture.md,
// "Hostile input"); node reads it only at start-up, so it cannot be set from inside main.ts.
import { describe, expect, it } from "vitest";
import { nodeFlags } from "../support/service-process.ts";
import {
  effective,
  execForm,
  loadCompose,
  loadDockerStages,
  loadK8sObjects,
  readRepoFile,
  stageChain,
} from "../support/deploy-files.ts";

const flags = nodeFlags.ingress;

describe("the ingress's node flags", () => {
  it("caps the young generation", () => {
    expect(flags).toEqual([expect.stringMatching(/^--max-semi-space-size=\d+$/)]);
    expect(nodeFlags.worker).toEqual([]);
  });

  it("are in the image's command, which compose and Kubernetes run unchanged", () => {
    const command = execForm(effective(stageChain(loadDockerStages(), "ingress"), "CMD")!);
    expect(command).toEqual([...flags, "services/ingress/src/main.ts"]);
    expect(loadCompose().services.ingress!.command).toBeUndefined();
    const ingress = loadK8sObjects().find(
      (object) => object.kind === "Deployment" && object.metadata.name === "switchboard-ingress",
    )!;
    const container = ingress.spec.template.spec.containers[0];
    expect(container.command).toBeUndefined();
    expect(container.args).toBeUndefined();
  });

  it("are in npm run start:ingress and npm start", () => {
    const scripts = (JSON.parse(readRepoFile("package.json")) as { scripts: Record<string, string> }).scripts;
    expect(scripts["start:ingress"]).toBe(`node ${flags.join(" ")} services/ingress/src/main.ts`);
    expect(readRepoFile("scripts/start.ts")).toContain(`ingress: ${JSON.stringify(flags).replace(/,/g, ", ")}`);
  });
});
