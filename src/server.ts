/**
 * The composition root: Fastify + Apollo Server 5. `createGateway` builds the parts from the config
 * (`buildGatewayParts`, src/composition/parts.ts) and mounts them here: the Fastify server and its
 * hooks, Apollo and its plugins (their one list is src/plugins/index.ts), the per-request context, and
 * the routes: `POST`/`GET /graphql`, `GET /healthz`, `GET /readyz`, and outside production the explorer
 * on `GET /graphql` for browsers, with its assets under `/explorer/` (README, HTTP surface). It holds
 * no behaviour of its own. Observability (README, Observability): the metrics registry's own `GET /metrics`
 * listener starts with `listen()`.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerOptions } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import type { Config } from './config.js';
import { createContextFunction, type Context } from './context.js';
import { deferredChild, type Logger } from './logger.js';
import { buildGatewayParts, operationNamesOf, type GatewayParts } from './composition/parts.js';
import { apolloPlugins, registerHttpPlugins, registerRoutes } from './plugins/index.js';
import { createFormatError } from './plugins/format-error.js';
import { correlationRequestId } from './plugins/correlation-id.js';
import type { ExplorerOptions } from './plugins/explorer.js';
import { persistedQueriesOption } from './plugins/persisted-queries.js';
import { noIntrospection } from './plugins/introspection.js';
import { KnownOperationTypesRule } from './plugins/operation-types.js';
import { withRateLimit, type RateLimitStore } from './plugins/rate-limit.js';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { UpstreamTokenSource } from './auth/upstream-tokens.js';
import { startMetricsServer, type MetricsServer } from './plugins/metrics/server.js';
import { inboundTraceHeaders } from './plugins/tracing/tracing.js';
import { countingFormatError } from './plugins/metrics/plugin.js';

/** What `createGateway` takes besides the config: test overrides and extras. */
export interface GatewayOptions {
  /** Root logger. @default a pino logger at `config.logLevel` on stdout */
  logger?: Logger;
  /** Replaces the token source built from the config (tests). */
  upstreamTokens?: UpstreamTokenSource;
  /** Replaces the token verifier built from the config (tests). */
  verifier?: TokenVerifier;
  /** Extra Apollo plugins. */
  plugins?: ApolloServerPlugin<Context>[];
  /**
   * The explorer served outside production (there is none in production, whatever this says);
   * `main.ts` passes the emulator's dev token as a default header.
   * @default the explorer with no default headers
   */
  explorer?: ExplorerOptions;
  /**
   * Where the per-caller rate-limit buckets live (e.g. a shared store for several replicas).
   * @default token buckets sized by `config.rateLimitPerMinute` (none when it is 0), in Redis with `REDIS_URL`, else in memory
   */
  rateLimitStore?: RateLimitStore;
  /**
   * Where the metrics listener binds, instead of `config.metricsPort`: `{ port: 0 }` is an ephemeral port
   * (tests; unlike `METRICS_PORT=0`, which turns metrics off), `false` turns metrics off.
   * @default `config.metricsPort` on `config.host` (none when it is 0)
   */
  metricsListener?: { readonly port: number } | false;
}

/** The gateway: its Fastify app, Apollo server and schema, and how to start and stop it. */
export interface Gateway {
  readonly app: FastifyInstance;
  readonly apollo: ApolloServer<Context>;
  readonly schema: GraphQLSchema;
  /** Listens on `config.host:config.port` (and the metrics port) and resolves to the base URL. */
  listen(): Promise<string>;
  /** `GET /metrics` URL once listening; undefined when metrics are off. */
  readonly metricsUrl: string | undefined;
  /** Stops accepting connections, drains in-flight requests, closes upstream sockets. */
  close(): Promise<void>;
  /**
   * Reads `PERSISTED_QUERIES_MANIFEST` again (main.ts calls it on SIGHUP) and logs the outcome: a file
   * that cannot be read or is not a manifest keeps the manifest in force (logged as an error). Resolves
   * to whether the new one is in force; false too when no manifest is configured.
   */
  reloadPersistedQueries(): Promise<boolean>;
}

/** Builds the gateway from the config and mounts it; `listen()` starts it. */
export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  return mountGateway(config, await buildGatewayParts(config, options), options);
}

/** The second half of the composition root: the parts on Fastify and Apollo, with the routes. */
async function mountGateway(config: Config, parts: GatewayParts, options: GatewayOptions): Promise<Gateway> {
  const { log, schema, metrics, metricsPort, tracing, transport, state, rateLimiter } = parts;
  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // One line per request, written by the request log (plugins/request-log.ts); every line of a request carries its correlation id.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlationId' }),
    bodyLimit: config.limits.maxBodyBytes,
    // Slow clients are cut off (issue: 200 trickling sockets stayed open): Node enforces requestTimeout by a
    // periodic sweep whose interval is fixed at server creation, hence the server factory.
    serverFactory: (handler) => {
      const server = createHttpServer(slowClientServerOptions(config.clientLimits), handler);
      server.maxConnections = config.clientLimits.maxConnections;
      return server;
    },
    requestTimeout: config.clientLimits.requestTimeoutMs,
    keepAliveTimeout: config.clientLimits.keepAliveTimeoutMs,
    // The correlation id is the request id: every log line of the request carries it.
    genReqId: correlationRequestId,
    return503OnClosing: true,
    // The client address behind a reverse proxy (per-address rate limit); off unless TRUST_PROXY says so.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // The request's logger is built only if something logs through it (logger.ts, deferredChild). A
    // traced request's logger carries its trace and span ids as bindings: set once, not per line.
    childLoggerFactory: (logger, bindings, childOptions, rawRequest) =>
      deferredChild(() =>
        (logger as unknown as Logger).child(tracing ? { ...bindings, ...tracing.logBindings(rawRequest as IncomingMessage) } : bindings, childOptions),
      ) as unknown as FastifyBaseLogger,
  });
  const draining = await registerHttpPlugins(app, parts, config);

  const apollo = new ApolloServer<Context>({
    schema,
    // In production an upstream's own error text never reaches a client (README, Errors).
    formatError: metrics ? countingFormatError(metrics, createFormatError({ production: config.production })) : createFormatError({ production: config.production }),
    // Apollo's own rule would name a constructor option; ours names INTROSPECTION (plugins/introspection.ts).
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // Apollo's CSRF prevention stays on (the default), and batched HTTP requests stay off (README, Hardening).
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // Hostile queries are refused at parse (tokens) and validation (depth, aliases, directives, cost).
    parseOptions: parts.limits.parseOptions,
    // An operation type the schema lacks (subscription) is a validation failure, not an execution error.
    validationRules: [...(config.introspection ? [] : [noIntrospection]), ...parts.limits.validationRules, KnownOperationTypesRule],
    persistedQueries: persistedQueriesOption(config.persistedQueries.mode, state.apqCache),
    // main.ts owns SIGTERM/SIGINT (drain, then exit 0); Apollo's own handlers would re-raise the signal.
    stopOnTerminationSignals: false,
    plugins: apolloPlugins(app, parts, options.plugins),
  });
  await apollo.start();

  const buildContext = createContextFunction({
    config,
    log,
    verifier: parts.verifier,
    upstreamTokens: parts.upstreamTokens,
    transport,
    reads: parts.reads,
    cursorKey: parts.cursorKey,
    keyedLock: state.keyedLock,
    onLoaderBatch: metrics && ((loader, size) => metrics.dataloaderBatch(loader, size)),
    // With tracing off the caller's trace context goes upstream unchanged; with it on, each try sends its own.
    traceHeaders: tracing ? undefined : inboundTraceHeaders,
  });
  const context = rateLimiter ? withRateLimit(buildContext, rateLimiter) : buildContext;
  await registerRoutes(app, parts, { apollo, context, production: config.production, explorer: options.explorer });

  let metricsServer: MetricsServer | undefined;
  return {
    app,
    apollo,
    schema,
    get metricsUrl() {
      return metricsServer?.url;
    },
    async listen() {
      // The metrics port first: a port already taken stops start-up before the gateway takes traffic.
      if (metrics && metricsPort !== undefined) metricsServer = await startMetricsServer({ registry: metrics.registry, host: config.host, port: metricsPort });
      await app.listen({ host: config.host, port: config.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `http://${host}:${port}`;
    },
    async close() {
      draining.begin();
      await app.close(); // the drain plugin stops Apollo after in-flight requests finish
      parts.reads.close();
      transport.close();
      await state.close();
      // Last, so the drain is still visible to a scrape and its spans are exported.
      await metricsServer?.close();
      await tracing?.shutdown();
    },
    async reloadPersistedQueries() {
      const { manifest } = parts;
      if (!manifest) {
        log.warn('no persisted query manifest to reload (PERSISTED_QUERIES_MANIFEST is not set, or PERSISTED_QUERIES=off)');
        return false;
      }
      try {
        const reloaded = await manifest.reload();
        metrics?.addKnownOperationNames(operationNamesOf(reloaded.byId.values()));
        log.info({ path: manifest.path, operations: reloaded.byId.size }, 'persisted query manifest reloaded');
        return true;
      } catch (error) {
        log.error({ path: manifest.path, reason: error instanceof Error ? error.message : String(error) }, 'persisted query manifest not reloaded: keeping the previous one');
        return false;
      }
    },
  };
}

/** Trusts the first `hops` proxies of `X-Forwarded-For` (what Fastify does with a number, typed as a function). */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

/** Node server options that bound slow clients: timeouts, the sweep that enforces them, and the connection cap. */
function slowClientServerOptions(limits: Config['clientLimits']): ServerOptions {
  return {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // The sweep runs often enough that a timeout is enforced within a quarter of itself (Node's default is 30 s).
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}
