/**
 * The first half of the composition root: every part of the gateway, built from the config and
 * nothing else (the one upstream transport, the token verifier, the upstream token source, the
 * schema, the shared state, metrics and tracing). `src/server.ts` mounts them on Fastify and Apollo.
 * Nothing here listens on a socket or registers a route.
 */
import { randomBytes } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, parse, type GraphQLSchema } from 'graphql';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { createLogger, type Logger } from '../logger.js';
import { buildGatewaySchema } from '../schema.js';
import { UPSTREAM_SERVICES } from '../upstreams.js';
import type { GatewayOptions } from '../server.js';
import { createTokenVerifier, type TokenVerifier } from '../auth/token-verifier.js';
import { createUpstreamTokenSource, type UpstreamTokenSource } from '../auth/upstream-tokens.js';
import { createSharedState, type SharedState } from '../state/index.js';
import { createUpstreamTransport, type UpstreamTransport } from '../upstream/transport.js';
import { createUpstreamReads, type UpstreamReads } from '../upstream/read-through.js';
import { createReadinessProbe, type ReadinessProbe } from '../upstream/readiness.js';
import { deriveCursorKey } from '../upstream/cursor.js';
import type { GatewayMetrics } from '../plugins/metrics/metrics.js';
import { startTracing, type Tracing } from '../plugins/tracing/tracing.js';
import { traceRootFields } from '../plugins/tracing/plugin.js';
import { createQueryLimits, type QueryLimitsSetup } from '../plugins/query-limits.js';
import { createPersistedQueriesPlugin, openPersistedQueryManifest, type PersistedQueryManifestFile } from '../plugins/persisted-queries.js';
import { createUnknownDocumentReporter } from '../plugins/unknown-documents.js';
import { createRateLimiter, type RateLimiter } from '../plugins/rate-limit.js';
import { readThroughObserver, redisCommandObserver, tokenRequestObserver, upstreamObserver, withTraceIds } from './observers.js';

/** What the gateway is made of: built by `buildGatewayParts`, mounted by `createGateway`. */
export interface GatewayParts {
  readonly log: Logger;
  /** The persisted-query manifest file (`PERSISTED_QUERIES_MANIFEST`, reloadable); undefined without one. */
  readonly manifest: PersistedQueryManifestFile | undefined;
  /** The executable schema (root fields traced when tracing is on). */
  readonly schema: GraphQLSchema;
  /** The metrics registry; undefined when metrics are off. */
  readonly metrics: GatewayMetrics | undefined;
  /** Where the metrics listener binds; undefined when metrics are off. */
  readonly metricsPort: number | undefined;
  /** Tracing; undefined unless an OTLP endpoint is configured. */
  readonly tracing: Tracing | undefined;
  /** The one upstream transport. */
  readonly transport: UpstreamTransport;
  /** Coalescing and the response cache, between the upstream clients and the transport. */
  readonly reads: UpstreamReads;
  readonly verifier: TokenVerifier;
  readonly upstreamTokens: UpstreamTokenSource;
  /** `/readyz`'s upstream probe. */
  readonly readiness: ReadinessProbe;
  /** Parse options, validation rules and plugins of the query limits. */
  readonly limits: QueryLimitsSetup;
  /** The persisted-queries plugin; undefined when `PERSISTED_QUERIES=off`. */
  readonly persistedQueriesPlugin: ApolloServerPlugin<Context> | undefined;
  /** The lock, rate-limit buckets, APQ registry and throttle windows: in Redis with `REDIS_URL`, else in this process. */
  readonly state: SharedState;
  /** The per-caller rate limiter; undefined when the limit is off. */
  readonly rateLimiter: RateLimiter | undefined;
  /** The key that encrypts paging cursors. */
  readonly cursorKey: Buffer;
}

/** Builds every part from the config (and the test overrides of `options`), in dependency order. */
export async function buildGatewayParts(config: Config, options: GatewayOptions = {}): Promise<GatewayParts> {
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
        (await import('../plugins/metrics/metrics.js')).createGatewayMetrics({ knownOperationNames: manifest ? operationNamesOf(manifest.current.byId.values()) : [] });
  // Loaded only when configured: with tracing off no OpenTelemetry module is ever imported.
  const tracing: Tracing | undefined = config.tracing ? await startTracing(config.tracing, { logger: log }) : undefined;
  if (tracing) traceRootFields(schema);
  // The lock, rate-limit buckets, APQ registry and throttle windows: in Redis with REDIS_URL, else in this
  // process. Before the transport, which keeps its throttle windows there.
  const state = await createSharedState({
    redisUrl: config.redisUrl,
    redisKeyPrefix: config.redisKeyPrefix,
    deadlineMs: config.upstreamDeadlineMs,
    rateLimitPerMinute: config.rateLimitPerMinute,
    logger: log,
    redisObserver: redisCommandObserver(tracing),
    // Longer than any entry stored before a write can live: its TTL plus one call's deadline, and a margin.
    cacheGenerationsRetainMs: config.responseCache.ttlMs > 0 ? config.responseCache.ttlMs + config.upstreamDeadlineMs + 60_000 : undefined,
  });
  const transport: UpstreamTransport = createUpstreamTransport({
    timeoutMs: config.upstreamTimeoutMs,
    deadlineMs: config.upstreamDeadlineMs,
    maxResponseBytes: config.upstreamMaxResponseBytes,
    maxSockets: config.upstreamMaxSockets,
    logger: withTraceIds(log, tracing),
    observer: upstreamObserver(metrics, tracing),
    throttleWindows: state.throttleWindows,
  });
  const reads: UpstreamReads = createUpstreamReads({
    transport,
    coalesce: config.upstreamCoalesce,
    cache: state.cacheGenerations && { ttlMs: config.responseCache.ttlMs, maxBytes: config.responseCache.maxBytes, generations: state.cacheGenerations },
    observer: readThroughObserver(metrics, tracing),
    logger: withTraceIds(log, tracing),
  });
  metrics?.setResponseCacheBytesSource(() => reads.cacheBytes());
  // Every upstream and state is reported, zeros included.
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
  const readiness: ReadinessProbe = createReadinessProbe({ transport, upstreams: config.upstreams });
  const limits = createQueryLimits({ limits: config.limits, hideSuggestions: config.production });
  const persistedQueriesPlugin = createPersistedQueriesPlugin<Context>({
    mode: config.persistedQueries.mode,
    manifest,
    onUnknownDocument: config.persistedQueries.logUnknown
      ? createUnknownDocumentReporter({ log, count: metrics && ((clientName) => metrics.persistedQueryUnknown(clientName)) })
      : undefined,
  });
  const rateLimitStore = options.rateLimitStore ?? state.rateLimitStore;
  const rateLimiter = rateLimitStore ? createRateLimiter({ store: rateLimitStore, onLimited: metrics && (() => metrics.rateLimited()) }) : undefined;
  return {
    log,
    manifest,
    schema,
    metrics,
    metricsPort,
    tracing,
    transport,
    reads,
    verifier,
    upstreamTokens,
    readiness,
    limits,
    persistedQueriesPlugin,
    state,
    rateLimiter,
    cursorKey: cursorKeyFrom(config),
  };
}

/** The key that encrypts paging cursors: from CURSOR_SECRET (shared by replicas), else random per process. */
function cursorKeyFrom(config: Config): Buffer {
  return config.cursorSecret ? deriveCursorKey(config.cursorSecret) : randomBytes(32);
}

/** The operation names of the persisted documents: always kept as metric label values. */
export function operationNamesOf(bodies: Iterable<string>): string[] {
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
