// Issue 7, acceptance 3: infra/docker/Dockerfile builds what README.md says: per service a Node 24
// slim image, multi-stage, production dependencies only, the TypeScript sources the entry point runs
// (no build step), an unprivileged user, and a health check. Read, not built: no Docker engine runs
// here (README.md lists what only a build can confirm).
import { existsSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  effective,
  execForm,
  loadDockerStages,
  readRepoFile,
  repoPath,
  serviceOfCommand,
  stageChain,
} from "../support/deploy-files.ts";

const stages = loadDockerStages();
const targets = ["ingress", "worker", "mock-upstream"] as const;
const workspaces = [
  ...["packages", "services"].flatMap((folder) => readdirSync(repoPath(folder)).map((name) => `${folder}/${name}`)),
  "test",
];

function copies(stageName: string): string[] {
  return stageChain(stages, stageName).flatMap((stage) =>
    stage.lines.filter((line) => line.instruction === "COPY").map((line) => line.args),
  );
}

describe("infra/docker/Dockerfile", () => {
  it("builds from Node 24 slim only", () => {
    for (const stage of stages) {
      const fromStage = stages.some((candidate) => candidate.name === stage.from);
      expect(fromStage || /^node:24(\.\d+)*-slim$/.test(stage.from), stage.from).toBe(true);
    }
    expect(stages.length).toBeGreaterThan(1);
  });

  it("has one target per service, and the ingress is the default (last) stage", () => {
    for (const target of targets)
      expect(
        stages.some((stage) => stage.name === target),
        target,
      ).toBe(true);
    expect(stages.at(-1)!.name).toBe("ingress");
  });

  it("runs each service's existing entry point with node, as an unprivileged user", () => {
    for (const target of targets) {
      const chain = stageChain(stages, target);
      expect(execForm(effective(chain, "ENTRYPOINT")!)).toEqual(["node"]);
      const command = execForm(effective(chain, "CMD")!);
      expect(serviceOfCommand(command.at(-1)!)).toBe(target);
      expect(existsSync(repoPath(command.at(-1)!))).toBe(true);
      const user = effective(chain, "USER");
      expect(user, target).toBeDefined();
      expect(["root", "0"]).not.toContain(user!.split(":")[0]);
    }
  });

  it("checks each service's health with the health-check script it copies", () => {
    for (const target of targets) {
      const healthcheck = effective(stageChain(stages, target), "HEALTHCHECK");
      expect(healthcheck, target).toBeDefined();
      const command = execForm(healthcheck!.slice(healthcheck!.indexOf("CMD") + 3).trim());
      expect(command).toEqual(["node", "scripts/healthcheck.ts", target]);
      expect(copies(target)).toContain("scripts/healthcheck.ts ./scripts/healthcheck.ts");
      expect(readRepoFile("scripts/healthcheck.ts")).toContain(`service === "${target}"`);
    }
  });

  it("installs production dependencies only, from the lockfile, with every workspace's manifest", () => {
    const deps = stages.find((stage) =>
      stage.lines.some((line) => line.instruction === "RUN" && line.args.includes("npm ci")),
    )!;
    expect(deps.lines.find((line) => line.instruction === "RUN")!.args).toMatch(/npm ci --omit=dev/);
    const copied = deps.lines.filter((line) => line.instruction === "COPY").map((line) => line.args);
    expect(copied).toContain("package.json package-lock.json ./");
    for (const workspace of workspaces) expect(copied, workspace).toContain(`${workspace}/package.json ${workspace}/`);
    // The runtime stages take node_modules from it, never run npm install themselves.
    for (const target of targets) {
      const chain = stageChain(stages, target);
      expect(chain.some((stage) => stage.name === deps.name)).toBe(false);
      expect(copies(target)).toContain(`--from=${deps.name} /app/node_modules ./node_modules`);
      expect(
        chain
          .flatMap((stage) => stage.lines)
          .some((line) => line.instruction === "RUN" && /npm (ci|install)/.test(line.args)),
      ).toBe(false);
    }
  });

  it("copies the sources the entry points run (type stripping: no build step)", () => {
    for (const target of targets) {
      const copied = copies(target);
      expect(copied).toEqual(expect.arrayContaining(["package.json ./", "packages ./packages", "services ./services"]));
    }
  });

  it("exposes the ports the services listen on in the image", () => {
    expect(effective(stageChain(stages, "ingress"), "EXPOSE")).toBe("8080");
    expect(effective(stageChain(stages, "mock-upstream"), "EXPOSE")).toBe("4010");
    // The mock listens on 127.0.0.1 unless told otherwise; in a container that is unreachable.
    expect(effective(stageChain(stages, "mock-upstream"), "ENV")).toBe("MOCK_HOST=0.0.0.0");
    expect(effective(stageChain(stages, "worker"), "ENV")).toMatch(/^WORKER_HEALTH_FILE=\/tmp\//);
  });

  it("keeps secrets, tests and local installs out of the build context", () => {
    const ignored = readRepoFile(".dockerignore")
      .split("\n")
      .map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", ".env", "test", "**/*.test.ts", ".git"]));
    for (const needed of ["packages", "services", "scripts", "package.json", "package-lock.json"])
      expect(ignored).not.toContain(needed);
  });

  it("is described in README.md as built", () => {
    const readme = readRepoFile("README.md");
    for (const target of targets)
      expect(readme).toContain(`docker build -f infra/docker/Dockerfile --target ${target}`);
  });
});
