// A schema failure as the gateway's invalid_request error: the first issue's path and message,
// never the offending value (it may be a prompt).
import { GatewayError } from "@switchboard/protocol";

export function validationError(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): GatewayError {
  const first = issues[0];
  const param = first && first.path.length > 0 ? first.path.map(String).join(".") : null;
  const message = first ? `Invalid request${param ? ` at ${param}` : ""}: ${first.message}` : "Invalid request.";
  return new GatewayError("invalid_request", { param, message });
}
