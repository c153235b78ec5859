// A real OTLP/HTTP trace receiver for tests: the services export to it over the wire
// (OTEL_EXPORTER_OTLP_PROTOCOL=http/json), and it decodes what arrives into flat span records.
// It keeps every raw body too, so a test can search everything that left the processes.
import { createServer, type Server } from "node:http";
import { once } from "node:events";

type SpanKindName = "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER" | "UNSPECIFIED";

export interface ReceivedSpan {
  service: string;
  resource: Record<string, unknown>;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: SpanKindName;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  links: Array<{ traceId: string; spanId: string; traceState: string | undefined }>;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string | undefined;
}

export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  url: string;
  spans: ReceivedSpan[];
  rawBodies: string[];
  /** Resolves with the spans once predicate holds for them (checked on each export), or rejects at the deadline. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const kindNames: SpanKindName[] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rawBodies: string[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    if (request.url !== "/v1/traces" || !(request.headers["content-type"] ?? "").includes("json")) {
      response.writeHead(415, { "content-type": "text/plain" }).end("send http/json to /v1/traces");
      return;
    }
    rawBodies.push(body);
    spans.push(...decodeTraces(JSON.parse(body) as OtlpTraces));
    response.writeHead(200, { "content-type": "application/json" }).end("{}");
    for (const wake of waiters) wake();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    rawBodies,
    waitFor(predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(spans)) return;
          cleanup();
          resolve(spans);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `spans did not arrive within ${timeoutMs} ms; received:\n${spans.map((span) => `${span.service} ${span.kind} ${span.name} ${span.traceId}/${span.spanId}<-${span.parentSpanId}`).join("\n")}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  events?: Array<{ name: string; attributes?: OtlpAttribute[] }>;
  links?: Array<{ traceId: string; spanId: string; traceState?: string }>;
  status?: { code?: number; message?: string };
}
interface OtlpTraces {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

function decodeTraces(payload: OtlpTraces): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of payload.resourceSpans ?? []) {
    const resource = decodeAttributes(resourceSpans.resource?.attributes);
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        const parent = span.parentSpanId ? toHex(span.parentSpanId) : "";
        out.push({
          service: String(resource["service.name"]),
          resource,
          traceId: toHex(span.traceId),
          spanId: toHex(span.spanId),
          parentSpanId: parent === "" ? undefined : parent,
          name: span.name,
          kind: kindNames[span.kind] ?? "UNSPECIFIED",
          attributes: decodeAttributes(span.attributes),
          events: (span.events ?? []).map((event) => ({
            name: event.name,
            attributes: decodeAttributes(event.attributes),
          })),
          links: (span.links ?? []).map((link) => ({
            traceId: toHex(link.traceId),
            spanId: toHex(link.spanId),
            traceState: link.traceState || undefined,
          })),
          statusCode: span.status?.code ?? 0,
          statusMessage: span.status?.message,
        });
      }
    }
  }
  return out;
}

function decodeAttributes(attributes: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((attributes ?? []).map((attribute) => [attribute.key, decodeValue(attribute.value)]));
}

function decodeValue(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decodeValue);
  return undefined;
}

/** OTLP/JSON ids are hex; tolerate base64 (the protobuf-JSON mapping) too. */
function toHex(id: string): string {
  return /^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16)
    ? id.toLowerCase()
    : Buffer.from(id, "base64").toString("hex");
}
