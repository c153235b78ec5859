// Ingress process entry point: `node services/ingress/src/main.ts`.
// Telemetry starts first: OTEL_* variables decide whether spans are exported (see README).
import { createLogger, createMetrics, startTelemetry } from "@switchboard/telemetry";
import { createApp } from "./app.ts";
import { loadIngressConfig } from "./config.ts";
import { createIngressMetrics } from "./ingress-metrics.ts";
import { IngressRuntime } from "./ingress-runtime.ts";

try {
  const telemetry = startTelemetry("switchboard-ingress");
  const config = loadIngressConfig(process.env);
  const log = createLogger("ingress", config.LOG_LEVEL);
  const runtime = new IngressRuntime(config, log.child({}));
  await runtime.start();
  const authenticationOptions = { keys: config.apiKeys, ...(config.AUTH_HEADER ? { header: config.AUTH_HEADER } : {}) };
  const metrics = createMetrics("switchboard-ingress");
  const ingressMetrics = createIngressMetrics(metrics.meter, () => runtime.queueDepth());
  const app = createApp({
    runtime,
    routes: config.routes,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    log,
    authentication: authenticationOptions,
    metrics,
    ingressMetrics,
  });
  if (config.apiKeys.length === 0) {
    log.warn("OPEN ACCESS: no API keys are configured, so anyone who can reach this gateway can use it (and spend its upstream credits). Set API_KEYS or API_KEYS_FILE.");
  } else {
    log.info("authentication on", { keys: config.apiKeys.length, header: config.AUTH_HEADER ?? null });
  }
  const server = app.listen(config.PORT, config.HOST, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.PORT;
    log.info("listening", { ingressId: runtime.ingressId, port, url: `http://127.0.0.1:${port}/v1`, metricsUrl: `http://127.0.0.1:${port}/metrics`, tracing: telemetry.tracing });
  });
  server.keepAliveTimeout = 65_000;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    const force = setTimeout(() => server.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
    force.unref();
    runtime
      .close()
      .then(() => telemetry.shutdown())
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (error) {
  process.stderr.write(`ingress: ${(error as Error).message}\n`);
  process.exit(1);
}
