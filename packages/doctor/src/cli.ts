#!/usr/bin/env node
// `switchboard doctor <base-url> [--key K] [--header NAME] [--model M] [--api-type T]`: runs the conformance
// checks and prints the table; exit code 0 when every check passed, 1 on a failure, 2 on misuse.
// `switchboard timeline …` is its own command (timeline-command.ts).
import { parseArgs } from "node:util";
import { formatReport } from "./report.ts";
import { runDoctor, type DoctorOptions } from "./run-doctor.ts";
import { timelineCommand } from "./timeline-command.ts";
import { runStatus } from "./status.ts";

const usage = `usage: switchboard doctor <base-url> [--key KEY] [--header NAME] [--model MODEL] [--api-type TYPE] [--first-chunk-limit-ms MS]

  <base-url>   the URL a client is given, e.g. http://127.0.0.1:8080/v1
  --key        an API key to authenticate with (also enables the wrong-key check)
  --header     send the key in this header instead of Authorization: Bearer
  --model      the model to test (default: from GET /v1/models)
  --api-type   chat_completions (default) or responses: the API to check, as an ElevenLabs agent's api_type`;

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      key: { type: "string" },
      header: { type: "string" },
      model: { type: "string" },
      "api-type": { type: "string" },
      "first-chunk-limit-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "timeline") return timelineCommand(argv.slice(1));
  if (argv[0] === "status") return runStatus(process.env);
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const [command, baseUrl, ...rest] = parsed.positionals;
  const apiType = parsed.values["api-type"] ?? "chat_completions";
  if (
    parsed.values.help ||
    command !== "doctor" ||
    !baseUrl ||
    rest.length > 0 ||
    !/^https?:\/\//.test(baseUrl) ||
    (apiType !== "chat_completions" && apiType !== "responses")
  ) {
    process.stderr.write(`${usage}\n`);
    return parsed.values.help ? 0 : 2;
  }
  const options: DoctorOptions = { baseUrl, apiType };
  if (parsed.values.key !== undefined) options.key = parsed.values.key;
  if (parsed.values.header !== undefined) options.header = parsed.values.header;
  if (parsed.values.model !== undefined) options.model = parsed.values.model;
  const limit = parsed.values["first-chunk-limit-ms"];
  if (limit !== undefined) options.firstChunkLimitMs = Number(limit);
  const report = await runDoctor(options);
  process.stdout.write(`${formatReport(report)}\n`);
  return report.ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
