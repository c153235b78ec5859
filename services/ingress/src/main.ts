// Ingress process entry point: `node services/ingress/src/main.ts`.
// Telemetry starts first: OTEL_* variables decide whether spans are exported (see README).
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { GatewayError } from "@switchboard/protocol";
import {
  abandonStandardOutput,
  attributeNames,
  createLogger,
  createMetrics,
  metricsAuthorizer,
  startTelemetry,
} from "@switchboard/telemetry";
import { createApp } from "./app.ts";
import { loadIngressConfig } from "./config.ts";
import { ConnectionCap, type ConnectionCloseReason } from "./connection-cap.ts";
import { createIngressMetrics } from "./ingress-metrics.ts";
import { IngressRuntime } from "./ingress-runtime.ts";
import { WriteTimeoutWatch } from "./write-timeout.ts";

try {
  const telemetry = startTelemetry("switchboard-ingress");
  const config = loadIngressConfig(process.env);
  const log = createLogger("ingress", config.LOG_LEVEL);
  const runtime = new IngressRuntime(config, log.child({}));
  await runtime.start();
  const authenticationOptions = { keys: config.apiKeys, ...(config.AUTH_HEADER ? { header: config.AUTH_HEADER } : {}) };
  const metrics = createMetrics("switchboard-ingress");
  const closedConnection = (reason: ConnectionCloseReason) =>
    ingressMetrics.closedConnections.add(1, { [attributeNames.connectionCloseReason]: reason });
  const connectionCap = new ConnectionCap(config.MAX_CONNECTIONS, log, closedConnection);
  const ingressMetrics = createIngressMetrics(
    metrics.meter,
    () => runtime.queueDepth(),
    () => connectionCap.open,
  );
  // A client that stopped reading: disconnected, which cancels its request (the response closes).
  const writeTimeouts = new WriteTimeoutWatch(config.CLIENT_WRITE_TIMEOUT_MS, (socket, bufferedBytes) => {
    closedConnection("write_timeout");
    log.warn("client stopped reading: disconnected", {
      client: socket.remoteAddress,
      bufferedBytes,
      timeoutMs: config.CLIENT_WRITE_TIMEOUT_MS,
    });
  });
  const app = createApp({
    runtime,
    routes: config.routes,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    queueMaxWaitMs: config.QUEUE_MAX_WAIT_MS,
    jsonMaxDepth: config.JSON_MAX_DEPTH,
    jsonMaxValues: config.JSON_MAX_VALUES,
    log,
    authentication: authenticationOptions,
    metrics,
    ingressMetrics,
    trustIncomingTraceparent: config.TRUST_INCOMING_TRACEPARENT,
    trustProxy: config.TRUST_PROXY,
    ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN } : {}),
    refusesConnection: (socket) => connectionCap.refuses(socket),
  });
  // Metrics on their own port, off the public one (and with the token, if one is set). A taken
  // port is reported, and the ingress serves on without them.
  const metricsServer = await metrics
    .serve(config.METRICS_PORT, config.METRICS_HOST, metricsAuthorizer(config.METRICS_TOKEN))
    .catch((error: unknown) => {
      log.warn("metrics server not started", { port: config.METRICS_PORT, error });
      return undefined;
    });
  if (config.apiKeys.length === 0) {
    log.warn(
      "OPEN ACCESS: no API keys are configured, so anyone who can reach this gateway can use it (and spend its upstream credits). Set API_KEYS or API_KEYS_FILE.",
    );
  } else {
    log.info("authentication on", { keys: config.apiKeys.length, header: config.AUTH_HEADER ?? null });
  }
  // Slow senders: the whole request must arrive within REQUEST_BODY_TIMEOUT_MS (else 408), checked
  // every second rather than Node's default 30 s.
  const server = createServer(
    {
      requestTimeout: config.REQUEST_BODY_TIMEOUT_MS,
      headersTimeout: Math.min(config.REQUEST_BODY_TIMEOUT_MS, 60_000),
      connectionsCheckingInterval: 1000,
    },
    app,
  );
  server.listen(config.PORT, config.HOST, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.PORT;
    log.info("listening", {
      ingressId: runtime.ingressId,
      port,
      url: `http://127.0.0.1:${port}/v1`,
      ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
      tracing: telemetry.tracing,
    });
  });
  server.keepAliveTimeout = config.KEEP_ALIVE_TIMEOUT_MS;
  connectionCap.attach(server);
  server.on("connection", (socket: Socket) => writeTimeouts.watch(socket));
  let stopping = false;
  // SIGTERM: readiness false and new requests refused (503 shutting_down) at once, while still
  // listening, so a load balancer sees the readiness change instead of refused connections; open
  // answers get SHUTDOWN_GRACE_MS to finish; whatever is still open then ends with an explicit
  // shutting_down error.
  // parentGone: stopped because `npm start`, which reads this process's stdout, died.
  const stop = async (parentGone = false) => {
    if (stopping) return;
    stopping = true;
    runtime.beginShutdown();
    log.info("shutting down", { open: runtime.openRequests.size, graceMs: config.SHUTDOWN_GRACE_MS });
    const drained = await runtime.openRequests.waitUntilEmpty(config.SHUTDOWN_GRACE_MS);
    if (!drained)
      runtime.openRequests.failAll(
        new GatewayError("shutting_down", {
          retryAfterSeconds: 1,
          message: "This gateway instance shut down before the answer was complete.",
        }),
      );
    server.close();
    server.closeAllConnections();
    writeTimeouts.close();
    metricsServer?.server.close();
    await runtime.close();
    await telemetry.shutdown();
    log.info("stopped", { drained });
    if (parentGone) abandonStandardOutput();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop().catch(() => process.exit(1)));
  process.on("SIGINT", () => void stop().catch(() => process.exit(1)));
  // Started by `npm start` (scripts/start.ts), which holds an IPC channel to its children: the
  // channel closes when that parent dies, even by SIGKILL, and the ingress stops with it.
  if (process.channel) {
    process.channel.unref();
    process.on("disconnect", () => void stop(true).catch(() => process.exit(1)));
  }
} catch (error) {
  process.stderr.write(`ingress: ${(error as Error).message}\n`);
  process.exit(1);
}
