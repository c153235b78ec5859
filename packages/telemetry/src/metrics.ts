// Metrics in Prometheus text format, recorded through the OpenTelemetry metrics API: instruments
// keep their OpenTelemetry names and units (seconds), and the same instruments could be pushed over
// OTLP later without touching the code that records them; only the exposition carries Prometheus
// names (unit suffixes such as `_seconds`, `_total` on counters: see prometheus-names.ts).
// Always on, independent of tracing: Prometheus pulls, so nothing is sent anywhere unless something
// scrapes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { diag, type Counter, type Histogram, type Meter, type UpDownCounter } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { withPrometheusNames } from "./prometheus-names.ts";

export type { Counter, Histogram, Meter, UpDownCounter };

export interface Metrics {
  meter: Meter;
  /** Answers a scrape: the current values in Prometheus text format. */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /**
   * Serve GET /metrics on its own port (kept off a service's public port); with `authorize`, a
   * scrape it refuses gets 401.
   */
  serve(
    port: number,
    host: string,
    authorize?: (request: IncomingMessage) => boolean,
  ): Promise<{ server: Server; url: string }>;
  shutdown(): Promise<void>;
}

/** service: the default service.name (OTEL_SERVICE_NAME wins), shown on target_info. */
export function createMetrics(service: string, env: Record<string, string | undefined> = process.env): Metrics {
  // The exporter is used as the reader only; the scrape is answered here, so the names can be
  // translated between collecting and serializing.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  // No prefix, no timestamps, no resource labels; target_info kept, scope labels left out.
  const serializer = new PrometheusSerializer("", false, undefined, false, true);
  const provider = new MeterProvider({
    readers: [exporter],
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME ?? service }),
  });
  const meter = provider.getMeter(service);
  const handle = (_request: IncomingMessage, response: ServerResponse) => {
    exporter.collect().then(
      ({ resourceMetrics, errors }) => {
        if (errors.length > 0) diag.error("metrics collection errors", ...errors);
        response
          .writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })
          .end(serializer.serialize(withPrometheusNames(resourceMetrics)));
      },
      (error: unknown) =>
        response
          .writeHead(500, { "content-type": "text/plain; charset=utf-8" })
          .end(`# failed to collect metrics: ${String(error)}\n`),
    );
  };
  return {
    meter,
    handle,
    serve(port, host, authorize) {
      const server = createServer((request, response) => {
        if (request.method === "GET" && new URL(request.url ?? "/", "http://x").pathname === "/metrics") {
          if (authorize && !authorize(request)) {
            response.writeHead(401, { "content-type": "text/plain; charset=utf-8" });
            return response.end("Send the metrics token as Authorization: Bearer <METRICS_TOKEN>\n");
          }
          return handle(request, response);
        }
        response.statusCode = 404;
        response.end("Not found: metrics are at GET /metrics\n");
      });
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const address = server.address();
          const boundPort = typeof address === "object" && address ? address.port : port;
          resolve({ server, url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${boundPort}/metrics` });
        });
      });
    },
    shutdown: () => provider.shutdown(),
  };
}
