// @switchboard/config: how every service reads its environment and the routing table.
export { ConfigError, loadConfig, type EnvSource } from "./load-config.ts";
export { boolean, integer, metricsServerEnv, redisConnectionEnv } from "./env-types.ts";
export { Hedge, Route, RouteTable, listModelIds, loadRouteTable, resolveRoute } from "./routes.ts";
