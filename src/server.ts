/**
 * The composition root: Fastify + Apollo Server 5. It builds the parts from the config (the one upstream
 * transport, the token verifier, the upstream token source, the schema) and wires them, in order, with
 * the plugins of src/plugins/ (one concern each); it holds no behaviour of its own. Routes: `POST`/`GET
 * /graphql`, `GET /healthz`, `GET /readyz`, and outside production the explorer on `GET /graphql` for
 * browsers, with its assets under `/explorer/` (DESIGN.md, HTTP surface). The state replicas share
 * (lock, rate-limit buckets, APQ registry) comes from src/state/. Observability (DESIGN.md): the metrics
 * registry and its own `GET /metrics` listener, and, only when an OTLP endpoint is set, tracing.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerOptions } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Kind, parse, type GraphQLSchema } from 'graphql';
import type { Config } from './config.js';
import { createContextFunction, type Context } from './context.js';
import { createLogger, deferredChild, type Logger } from './logger.js';
import { buildGatewaySchema } from './schema.js';
import { UPSTREAM_NAMES, type UpstreamService } from './errors.js';
import { createFormatError } from './plugins/format-error.js';
import { correlationRequestId, registerCorrelationIdEcho } from './plugins/correlation-id.js';
import { registerDraining } from './plugins/draining.js';
import { registerErrorHandler } from './plugins/error-handler.js';
import { registerHealthRoutes } from './plugins/health.js';
import { noStore } from './plugins/no-store.js';
import { createHideInputValuesPlugin } from './plugins/hide-input-values.js';
import { createHideDocumentTextPlugin } from './plugins/hide-document-text.js';
import { KnownOperationTypesRule } from './plugins/operation-types.js';
import { createRequestLoggingPlugin, registerRequestLog } from './plugins/request-log.js';
import { createQueryLimits } from './plugins/query-limits.js';
import {
  createPersistedQueriesPlugin,
  openPersistedQueryManifest,
  persistedQueriesOption,
  type PersistedQueryManifestFile,
} from './plugins/persisted-queries.js';
import { persistedQueryHashCheck } from './plugins/persisted-query-hash.js';
import { createUnknownDocumentReporter } from './plugins/unknown-documents.js';
import type { ExplorerOptions } from './plugins/explorer.js';
import { noExplorerPreHandler } from './plugins/no-explorer.js';
import { noIntrospection } from './plugins/introspection.js';
import { registerCors } from './plugins/cors.js';
import { createRateLimiter, withRateLimit, type RateLimitStore } from './plugins/rate-limit.js';
import { createSharedState } from './state/index.js';
import { createTokenVerifier, type TokenVerifier } from './auth/token-verifier.js';
import { createUpstreamTokenSource, type UpstreamTokenSource } from './auth/upstream-tokens.js';
import { createUpstreamTransport, type UpstreamTransport } from './upstream/transport.js';
import { createReadinessProbe, type ReadinessProbe } from './upstream/readiness.js';
import { deriveCursorKey } from './upstream/cursor.js';
import type { GatewayMetrics } from './plugins/metrics/metrics.js';
import { startMetricsServer, type MetricsServer } from './plugins/metrics/server.js';
import { inboundTraceHeaders, startTracing, type Tracing } from './plugins/tracing/tracing.js';
import { redisCommandObserver, tokenRequestObserver, upstreamObserver, withTraceIds } from './composition/observers.js';
import { countingFormatError, createMetricsPlugin, registerHttpMetrics } from './plugins/metrics/plugin.js';
import { createTracingPlugin, registerHttpTracing, traceRootFields } from './plugins/tracing/plugin.js';

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

/** The upstreams, for the circuit gauge (every service and state is reported, zeros included). */
const UPSTREAM_SERVICES = Object.keys(UPSTREAM_NAMES) as UpstreamService[];

export async function createGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  // First, so a bad manifest stops start-up before anything holds a socket.
  const manifest: PersistedQueryManifestFile | undefined =
    config.persistedQueries.mode !== 'off' && config.persistedQueries.manifestPath
      ? await openPersistedQueryManifest(config.persistedQueries.manifestPath)
      : undefined;
  const log = options.logger ?? createLogger({ level: config.logLevel });
  const schema = await buildGatewaySchema();
  const metricsPort = options.metricsListener === undefined ? (config.metricsPort || undefined) : options.metricsListener ? options.metricsListener.port : undefined;
  const metrics: GatewayMetrics | undefined =
    metricsPort === undefined
      ? undefined
      : // prom-client is loaded only when metrics are on (METRICS_PORT=0 spares its resident memory).
        (await import('./plugins/metrics/metrics.js')).createGatewayMetrics({ knownOperationNames: manifest ? operationNamesOf(manifest.current.byId.values()) : [] });
  // Loaded only when configured: with tracing off no OpenTelemetry module is ever imported.
  const tracing: Tracing | undefined = config.tracing ? await startTracing(config.tracing, { logger: log }) : undefined;
  if (tracing) traceRootFields(schema);
  const transport: UpstreamTransport = createUpstreamTransport({
    timeoutMs: config.upstreamTimeoutMs,
    deadlineMs: config.upstreamDeadlineMs,
    maxResponseBytes: config.upstreamMaxResponseBytes,
    maxSockets: config.upstreamMaxSockets,
    logger: withTraceIds(log, tracing),
    observer: upstreamObserver(metrics, tracing),
  });
  metrics?.setCircuitStateSource(() =>
    UPSTREAM_SERVICES.flatMap((service) => {
      const counts = transport.circuitCounts(service);
      return (['closed', 'half_open', 'open'] as const).map((state) => ({ service, state, count: counts[state] }));
    }),
  );
  metrics?.setUpstreamPoolSource(() => UPSTREAM_SERVICES.map((service) => ({ service, ...transport.poolStats(service) })));
  const verifier = options.verifier ?? createTokenVerifier({
    issuers: config.auth.issuers,
    audience: config.auth.audience,
    jwksUrl: config.auth.jwksUrl,
    jwksGraceMs: config.auth.jwksGraceMs,
    untrustedKeys: config.auth.untrustedKeys,
    logger: log,
  });
  const upstreamTokens = options.upstreamTokens ?? createUpstreamTokenSource(config, { observer: tokenRequestObserver(metrics, tracing) });
  const readiness: ReadinessProbe = createReadinessProbe({ transport, endpoints: config.endpoints });
  const limits = createQueryLimits({ limits: config.limits, hideSuggestions: config.production });
  const persistedQueriesPlugin = createPersistedQueriesPlugin<Context>({
    mode: config.persistedQueries.mode,
    manifest,
    onUnknownDocument: config.persistedQueries.logUnknown
      ? createUnknownDocumentReporter({ log, count: metrics && ((clientName) => metrics.persistedQueryUnknown(clientName)) })
      : undefined,
  });
  // The lock, rate-limit buckets and APQ registry: in Redis with REDIS_URL, else in this process.
  const state = await createSharedState({
    redisUrl: config.redisUrl,
    redisKeyPrefix: config.redisKeyPrefix,
    deadlineMs: config.upstreamDeadlineMs,
    rateLimitPerMinute: config.rateLimitPerMinute,
    logger: log,
    redisObserver: redisCommandObserver(tracing),
  });
  const rateLimitStore = options.rateLimitStore ?? state.rateLimitStore;
  const rateLimiter = rateLimitStore ? createRateLimiter({ store: rateLimitStore, onLimited: metrics && (() => metrics.rateLimited()) }) : undefined;

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
  if (tracing) registerHttpTracing(app, { tracing });
  if (metrics) registerHttpMetrics(app, { metrics });

  const draining = registerDraining(app);
  registerCorrelationIdEcho(app);
  registerRequestLog(app, { log, tracing });
  registerErrorHandler(app, { maxBodyBytes: config.limits.maxBodyBytes, onError: metrics && ((code) => metrics.graphqlError(code)) });
  await registerCors(app, { production: config.production, origins: config.corsOrigins });

  const apollo = new ApolloServer<Context>({
    schema,
    // In production an upstream's own error text never reaches a client (DESIGN.md, Errors).
    formatError: metrics ? countingFormatError(metrics, createFormatError({ production: config.production })) : createFormatError({ production: config.production }),
    // Apollo's own rule would name a constructor option; ours names INTROSPECTION (plugins/introspection.ts).
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // Apollo's CSRF prevention stays on (the default), and batched HTTP requests stay off (DESIGN.md, Limits).
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // Hostile queries are refused at parse (tokens) and validation (depth, aliases, directives, cost).
    parseOptions: limits.parseOptions,
    // An operation type the schema lacks (subscription) is a validation failure, not an execution error.
    validationRules: [...(config.introspection ? [] : [noIntrospection]), ...limits.validationRules, KnownOperationTypesRule],
    persistedQueries: persistedQueriesOption(config.persistedQueries.mode, state.apqCache),
    // main.ts owns SIGTERM/SIGINT (drain, then exit 0); Apollo's own handlers would re-raise the signal.
    stopOnTerminationSignals: false,
    plugins: [
      fastifyApolloDrainPlugin(app),
      createRequestLoggingPlugin(),
      // graphql-js prints input values (passwords too) into coercion messages: never echoed (DESIGN.md, Errors).
      createHideInputValuesPlugin(),
      // Syntax errors and unknown operation names quote the client's text: rebuilt without it (DESIGN.md, Errors).
      createHideDocumentTextPlugin(),
      // Apollo's landing page loads from a CDN: never served. Outside production our offline explorer replaces it.
      ApolloServerPluginLandingPageDisabled(),
      // No field sets cache hints (every answer is per-caller data), so the per-field cache-control
      // hook is pure cost; answers are marked no-store on the route instead.
      ApolloServerPluginCacheControlDisabled(),
      ...limits.plugins,
      ...(persistedQueriesPlugin ? [persistedQueriesPlugin] : []),
      ...(metrics ? [createMetricsPlugin({ metrics })] : []),
      ...(tracing ? [createTracingPlugin({ tracing })] : []),
      ...(options.plugins ?? []),
    ],
  });
  await apollo.start();

  const buildContext = createContextFunction({
    config,
    log,
    verifier,
    upstreamTokens,
    transport,
    cursorKey: cursorKeyFrom(config),
    keyedLock: state.keyedLock,
    onLoaderBatch: metrics && ((loader, size) => metrics.dataloaderBatch(loader, size)),
    // With tracing off the caller's trace context goes upstream unchanged; with it on, each try sends its own.
    traceHeaders: tracing ? undefined : inboundTraceHeaders,
  });
  const handler = fastifyApolloHandler(apollo, { context: rateLimiter ? withRateLimit(buildContext, rateLimiter) : buildContext });
  // The explorer (and Ruru's bundled assets) is loaded outside production only.
  const explorerPlugin = config.production ? undefined : await import('./plugins/explorer.js');
  const explorer = explorerPlugin?.createExplorer(options.explorer);
  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    // A malformed APQ hash is refused before Apollo uses it as a store key.
    preValidation: persistedQueryHashCheck({ isManifestId: manifest && ((id) => manifest.current.byId.has(id)) }),
    // Outside production a browser gets the explorer; in production, a note that there is none.
    preHandler: explorer && explorerPlugin ? explorerPlugin.explorerPreHandler(explorer) : noExplorerPreHandler,
    onSend: noStore,
    handler,
  });
  if (explorerPlugin) {
    explorerPlugin.registerExplorerAssets(app);
    explorerPlugin.registerRootPointer(app);
  }
  registerHealthRoutes(app, { readiness, sharedState: state, signingKeys: () => verifier.signingKeys() });

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
      transport.close();
      await state.close();
      // Last, so the drain is still visible to a scrape and its spans are exported.
      await metricsServer?.close();
      await tracing?.shutdown();
    },
    async reloadPersistedQueries() {
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

/** The key that encrypts paging cursors: from CURSOR_SECRET (shared by replicas), else random per process. */
function cursorKeyFrom(config: Config): Buffer {
  return config.cursorSecret ? deriveCursorKey(config.cursorSecret) : randomBytes(32);
}

/** The operation names of the persisted documents: always kept as metric label values. */
function operationNamesOf(bodies: Iterable<string>): string[] {
  const names: string[] = [];
  for (const body of bodies) {
    try {
      for (const definition of parse(body).definitions) {
        if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) names.push(definition.name.value);
      }
    } catch {
      // Not parseable: it can never run, so it names no operation.
    }
  }
  return names;
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
