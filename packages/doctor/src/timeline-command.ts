// `switchboard timeline <conversation-id> --url URL --key ADMIN_KEY [--json]`: one conversation's
// turns, as the ingress's admin endpoint (GET /admin/conversations/:id/timeline) lists them, one
// block per turn with its attempts. Exit code 0 when the timeline was read, 1 when the gateway
// refused or failed, 2 on misuse.
import { parseArgs } from "node:util";
import { formatTimeline, type Timeline } from "./timeline-format.ts";

const usage = `usage: switchboard timeline <conversation-id> --url URL --key ADMIN_KEY [--json]

  <conversation-id>  the conversation's id (x-conversation-id, elevenlabs_extra_body.conversation_id or user)
  --url              the gateway, e.g. http://127.0.0.1:8080 (a trailing /v1 is ignored)
  --key              an admin key (ADMIN_API_KEYS)
  --json             print the endpoint's JSON instead of the table`;

export async function timelineCommand(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const [conversationId, ...rest] = parsed.positionals;
  const { url, key } = parsed.values;
  if (parsed.values.help || !conversationId || rest.length > 0 || !url || !key || !/^https?:\/\//.test(url)) {
    process.stderr.write(`${usage}\n`);
    return parsed.values.help ? 0 : 2;
  }
  const base = url.replace(/\/+$/, "").replace(/\/v1$/, "");
  let response: Response;
  try {
    response = await fetch(`${base}/admin/conversations/${encodeURIComponent(conversationId)}/timeline`, {
      headers: { authorization: `Bearer ${key}` },
    });
  } catch (error) {
    process.stderr.write(`cannot reach ${base}: ${(error as Error).message}\n`);
    return 1;
  }
  const text = await response.text();
  if (!response.ok) {
    process.stderr.write(`${response.status}: ${errorMessage(text)}\n`);
    return 1;
  }
  const timeline = JSON.parse(text) as Timeline;
  process.stdout.write(parsed.values.json ? `${JSON.stringify(timeline, null, 2)}\n` : formatTimeline(timeline));
  return 0;
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      key: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function errorMessage(text: string): string {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    return text;
  }
}
