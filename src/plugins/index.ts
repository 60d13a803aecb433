/**
 * Every plugin's registration, in one list and in order: the Fastify hooks of the request pipeline,
 * the Apollo plugins, and the routes beside `/graphql`. `src/server.ts` calls these three; each plugin
 * is one concern in its own file.
 */
import type { ApolloServer, ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { fastifyApolloDrainPlugin, fastifyApolloHandler, type ApolloFastifyContextFunction } from '@as-integrations/fastify';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import type { GatewayParts } from '../composition/parts.js';
import { registerCorrelationIdEcho } from './correlation-id.js';
import { registerCors } from './cors.js';
import { registerDraining, type Draining } from './draining.js';
import { registerErrorHandler } from './error-handler.js';
import type { ExplorerOptions } from './explorer.js';
import { registerHealthRoutes } from './health.js';
import { createHideDocumentTextPlugin } from './hide-document-text.js';
import { createHideInputValuesPlugin } from './hide-input-values.js';
import { createMetricsPlugin, registerHttpMetrics } from './metrics/plugin.js';
import { noExplorerPreHandler } from './no-explorer.js';
import { noStore } from './no-store.js';
import { persistedQueryHashCheck } from './persisted-query-hash.js';
import { createRequestLoggingPlugin, registerRequestLog } from './request-log.js';
import { createTracingPlugin, registerHttpTracing } from './tracing/plugin.js';

/**
 * The Fastify hooks, before Apollo: tracing and metrics first (they see the whole request), then
 * draining, the correlation-id echo, the request log, the error handler and CORS.
 */
export async function registerHttpPlugins(app: FastifyInstance, parts: GatewayParts, config: Config): Promise<Draining> {
  const { tracing, metrics, log } = parts;
  if (tracing) registerHttpTracing(app, { tracing });
  if (metrics) registerHttpMetrics(app, { metrics });

  const draining = registerDraining(app);
  registerCorrelationIdEcho(app);
  registerRequestLog(app, { log, tracing });
  registerErrorHandler(app, { maxBodyBytes: config.limits.maxBodyBytes, onError: metrics && ((code) => metrics.graphqlError(code)) });
  await registerCors(app, { production: config.production, origins: config.corsOrigins });
  return draining;
}

/** The Apollo plugins, in order, then the caller's `extra` ones. */
export function apolloPlugins(app: FastifyInstance, parts: GatewayParts, extra: readonly ApolloServerPlugin<Context>[] = []): ApolloServerPlugin<Context>[] {
  const { limits, persistedQueriesPlugin, metrics, tracing } = parts;
  return [
    fastifyApolloDrainPlugin(app),
    createRequestLoggingPlugin(),
    // graphql-js prints input values (passwords too) into coercion messages: never echoed (README, Errors).
    createHideInputValuesPlugin(),
    // Syntax errors and unknown operation names quote the client's text: rebuilt without it (README, Errors).
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
    ...extra,
  ];
}

/** Options of `registerRoutes`. */
export interface RoutesOptions {
  /** Apollo, started, and the per-request context function it runs `/graphql` with. */
  readonly apollo: ApolloServer<Context>;
  readonly context: ApolloFastifyContextFunction<Context>;
  readonly production: boolean;
  readonly explorer?: ExplorerOptions;
}

/**
 * `GET`/`POST /graphql` (Apollo's handler, answers marked no-store), outside production the explorer on it and its
 * assets, and `/healthz` and `/readyz`.
 */
export async function registerRoutes(app: FastifyInstance, parts: GatewayParts, options: RoutesOptions): Promise<void> {
  // The explorer (and Ruru's bundled assets) is loaded outside production only.
  const explorerPlugin = options.production ? undefined : await import('./explorer.js');
  const explorer = explorerPlugin?.createExplorer(options.explorer);
  const { manifest } = parts;
  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    // A malformed APQ hash is refused before Apollo uses it as a store key.
    preValidation: persistedQueryHashCheck({ isManifestId: manifest && ((id) => manifest.current.byId.has(id)) }),
    // Outside production a browser gets the explorer; in production, a note that there is none.
    preHandler: explorer && explorerPlugin ? explorerPlugin.explorerPreHandler(explorer) : noExplorerPreHandler,
    onSend: noStore,
    handler: fastifyApolloHandler(options.apollo, { context: options.context }),
  });
  if (explorerPlugin) {
    explorerPlugin.registerExplorerAssets(app);
    explorerPlugin.registerRootPointer(app);
  }
  const { readiness, state, verifier } = parts;
  registerHealthRoutes(app, { readiness, sharedState: state, signingKeys: () => verifier.signingKeys() });
}
